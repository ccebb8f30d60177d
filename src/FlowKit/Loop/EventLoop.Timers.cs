using FlowKit.Internal;

namespace FlowKit;

public sealed partial class EventLoop
{
    // Ordered by due time, then by scheduling order (asyncio's call_later contract), guarded by _gate.
    private readonly PriorityQueue<LoopTimer, (DateTimeOffset Due, long Sequence)> _timers = new();
    private DateTimeOffset _wakeAt = DateTimeOffset.MaxValue;
    private long _timerSequence;

    /// <summary>Runs <paramref name="callback"/> on the loop after <paramref name="delay"/> on the loop's clock (asyncio's <c>call_later</c>).
    /// Callbacks due at the same time run in the order they were scheduled.</summary>
    /// <param name="delay">Zero or positive, any length; <see cref="Timeout.InfiniteTimeSpan"/> or <see cref="TimeSpan.MaxValue"/> means never.</param>
    /// <param name="callback">Runs on the loop's thread.</param>
    /// <returns>A handle; disposing it cancels the callback if it has not run yet.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    public LoopTimerHandle CallLater(TimeSpan delay, Action callback)
    {
        ThrowIfNegative(delay);
        return CallAt(DueAfter(delay), callback);
    }

    /// <summary>Runs <paramref name="callback"/> on the loop at <paramref name="when"/> on the loop's clock (asyncio's <c>call_at</c>).</summary>
    /// <param name="when">The due time; a time in the past runs at the next iteration.</param>
    /// <param name="callback">Runs on the loop's thread.</param>
    /// <returns>A handle; disposing it cancels the callback if it has not run yet.</returns>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    public LoopTimerHandle CallAt(DateTimeOffset when, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new LoopTimer(this, when, callback);
        AddTimer(timer);
        return new LoopTimerHandle(timer);
    }

    /// <summary>Waits <paramref name="delay"/> on the loop's clock (asyncio's <c>sleep</c>); the continuation runs in the awaiting context.
    /// A sleep still pending when the loop closes is cancelled.</summary>
    /// <param name="delay">Zero or positive, any length; zero yields to the callbacks already queued; <see cref="Timeout.InfiniteTimeSpan"/>
    /// or <see cref="TimeSpan.MaxValue"/> sleeps until cancelled.</param>
    /// <param name="cancellationToken">Cancels the sleep.</param>
    /// <returns>A task that completes after the delay.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    public Task SleepAsync(TimeSpan delay, CancellationToken cancellationToken = default)
    {
        ThrowIfNegative(delay);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var sleep = new Sleep(this, DueAfter(delay), cancellationToken);
        AddTimer(sleep);
        sleep.Register();
        return sleep.Task;
    }

    /// <summary>Cancels <paramref name="timer"/> if it has not fired; returns whether this call cancelled it.</summary>
    internal bool CancelTimer(LoopTimer timer)
    {
        if (!timer.TryCancel())
        {
            return false;
        }

        lock (_gate)
        {
            if (!_closed)
            {
                ArmWakeTimerLocked();
            }
        }

        return true;
    }

    private static void ThrowIfNegative(TimeSpan delay)
    {
        if (delay < TimeSpan.Zero && delay != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(delay), delay, "The delay must be zero or positive, or Timeout.InfiniteTimeSpan (never).");
        }
    }

    // A delay too long for the calendar (TimeSpan.MaxValue) or Timeout.InfiniteTimeSpan means "never", not an overflow.
    private DateTimeOffset DueAfter(TimeSpan delay)
    {
        if (delay == Timeout.InfiniteTimeSpan)
        {
            return DateTimeOffset.MaxValue;
        }

        var now = _time.GetUtcNow();
        return delay >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue : now + delay;
    }

    private void AddTimer(LoopTimer timer)
    {
        lock (_gate)
        {
            ThrowIfClosed();
            _timers.Enqueue(timer, (timer.When, _timerSequence++));
            ArmWakeTimerLocked();
        }
    }

    private void MoveDueTimersLocked()
    {
        if (_timers.Count == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        while (_timers.TryPeek(out var timer, out var key) && key.Due <= now)
        {
            _timers.Dequeue();
            if (!timer.IsDone)
            {
                _ready.Enqueue(WorkItem.ForTimer(timer));
            }
        }

        ArmWakeTimerLocked();
    }

    private void ArmWakeTimerLocked()
    {
        while (_timers.TryPeek(out var first, out _) && first.IsDone)
        {
            _timers.Dequeue();
        }

        var next = _timers.TryPeek(out _, out var key) ? key.Due : DateTimeOffset.MaxValue;
        var due = next == DateTimeOffset.MaxValue ? Timeout.InfiniteTimeSpan : next - _time.GetUtcNow();
        if (due <= TimeSpan.Zero && due != Timeout.InfiniteTimeSpan)
        {
            // Already due: the loop thread moves it on its next iteration. Arming a zero timer here would call back synchronously on
            // some clocks (FakeTimeProvider) while we hold the lock.
            Monitor.PulseAll(_gate);
            next = DateTimeOffset.MaxValue;
            due = Timeout.InfiniteTimeSpan;
        }

        if (next == _wakeAt)
        {
            return;
        }

        _wakeAt = next;
        if (due != Timeout.InfiniteTimeSpan)
        {
            // The wake-up is only a wake-up: MoveDueTimersLocked compares the clock, and one that comes early (or a step of a wait longer
            // than a timer can be armed for) re-arms here for the rest. Rounded up on the system clock so an early wake-up does not spin.
            due = TimerDue.For(_time, due);
        }

        _wakeTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void OnWakeTimer()
    {
        lock (_gate)
        {
            _wakeAt = DateTimeOffset.MaxValue;
            if (_closed)
            {
                return;
            }

            // Move due timers now, under the lock, so a test that waits for the loop to be idle sees the work they set off.
            if (_running)
            {
                MoveDueTimersLocked();
            }
            else
            {
                ArmWakeTimerLocked();
            }

            Monitor.PulseAll(_gate);
        }
    }

    private sealed class Sleep : LoopTimer
    {
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationToken _cancellationToken;
        private CancellationTokenRegistration _registration;

        public Sleep(EventLoop loop, DateTimeOffset when, CancellationToken cancellationToken)
            : base(loop, when, null)
        {
            _cancellationToken = cancellationToken;
        }

        public Task Task => _completion.Task;

        public void Register()
        {
            if (_cancellationToken.CanBeCanceled)
            {
                _registration = _cancellationToken.UnsafeRegister(static s =>
                {
                    var sleep = (Sleep)s!;

                    // Only the side that wins the timer's state completes the task: a sleep that already fired is not cancelled.
                    if (sleep.Loop.CancelTimer(sleep))
                    {
                        sleep._completion.TrySetCanceled(sleep._cancellationToken);
                    }
                }, this);
            }
        }

        protected override void OnFire()
        {
            _registration.Dispose();
            _completion.TrySetResult();
        }

        protected override void OnDropped()
        {
            _registration.Dispose();
            _completion.TrySetCanceled();
        }
    }
}
