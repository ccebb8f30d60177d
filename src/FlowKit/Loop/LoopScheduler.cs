using System.Reactive.Concurrency;
using FlowKit.Internal;

namespace FlowKit;

/// <summary>The Rx face of an <see cref="EventLoop"/> (<see cref="EventLoop.Scheduler"/>): immediate work is <see cref="EventLoop.CallSoon(Action)"/>,
/// timed work is <see cref="EventLoop.CallAt"/> on the loop's clock, and periods are computed from the start so they do not drift.</summary>
internal sealed class LoopScheduler(EventLoop loop) : IScheduler, ISchedulerPeriodic, IStopwatchProvider, IServiceProvider
{
    public DateTimeOffset Now => loop.Time;

    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var item = new LoopScheduledItem<TState>(this, state, action);
        loop.CallSoon(LoopScheduledItem<TState>.RunCallback, item);
        return item;
    }

    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (dueTime <= TimeSpan.Zero)
        {
            return Schedule(state, action);
        }

        var item = new LoopScheduledItem<TState>(this, state, action);
        item.SetTimer(loop.CallLater(dueTime, item.Run));
        return item;
    }

    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var item = new LoopScheduledItem<TState>(this, state, action);
        item.SetTimer(loop.CallAt(dueTime, item.Run));
        return item;
    }

    public IDisposable SchedulePeriodic<TState>(TState state, TimeSpan period, Func<TState, TState> action)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(action);
        var periodic = new Periodic<TState>(loop, state, period, action);
        periodic.Start();
        return periodic;
    }

    public IStopwatch StartStopwatch() => new LoopStopwatch(loop.TimeProvider);

    public object? GetService(Type serviceType) =>
        serviceType == typeof(ISchedulerPeriodic) || serviceType == typeof(IStopwatchProvider) ? this : null;

    private sealed class Periodic<TState>(EventLoop loop, TState state, TimeSpan period, Func<TState, TState> action) : IDisposable
    {
        private readonly DateTimeOffset _start = loop.Time;
        private readonly object _gate = new();
        private TState _state = state;
        private LoopTimerHandle? _next;
        private long _tick;
        private bool _disposed;

        public void Start() => ScheduleNext();

        public void Dispose()
        {
            LoopTimerHandle? next;
            lock (_gate)
            {
                _disposed = true;
                next = _next;
            }

            next?.Cancel();
        }

        private void ScheduleNext()
        {
            lock (_gate)
            {
                if (!_disposed)
                {
                    _tick++;
                    _next = loop.CallAt(_start + (period * _tick), Tick);
                }
            }
        }

        private void Tick()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
            }

            _state = action(_state);
            ScheduleNext();
        }
    }
}
