namespace FlowKit.Internal;

/// <summary>Runs an action once, when <c>due</c> has elapsed on a <see cref="TimeProvider"/>, and never before: a timer may fire
/// a little early (coarse timer wheels, clock adjustments, a provider that rounds), so each firing re-reads the clock and re-arms
/// for what is left instead of trusting "the timer fired, so the time is up". Disposing it before then cancels the action.</summary>
internal sealed class ExecutorsDeadlineTimer : IDisposable
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly TimeSpan _due;
    private readonly Action<object?> _onDue;
    private readonly object? _state;
    private readonly ITimer _timer;
    private bool _done;

    public ExecutorsDeadlineTimer(TimeProvider time, TimeSpan due, Action<object?> onDue, object? state)
    {
        _time = time;
        _due = due;
        _onDue = onDue;
        _state = state;
        _start = time.GetTimestamp();

        // The gate keeps an immediate firing from running before the timer field is set.
        lock (_gate)
        {
            _timer = time.CreateTimer(static s => ((ExecutorsDeadlineTimer)s!).Fire(), this, due, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _done = true;
        }

        _timer.Dispose();
    }

    private void Fire()
    {
        lock (_gate)
        {
            if (_done)
            {
                return;
            }

            var left = _due - _time.GetElapsedTime(_start);
            if (left > TimeSpan.Zero)
            {
                // Early: wait for the rest.
                _timer.Change(left, Timeout.InfiniteTimeSpan);
                return;
            }

            _done = true;
        }

        _onDue(_state);
    }
}
