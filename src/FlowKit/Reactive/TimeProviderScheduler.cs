using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using FlowKit.Internal;

namespace FlowKit;

/// <summary>
/// An Rx scheduler whose clock is a <see cref="TimeProvider"/>: <c>Now</c>, timed work, periods and stopwatches all come from it, so one
/// <c>FakeTimeProvider</c> drives Rx's time operators (Interval, Timer, Throttle, Buffer by time) and FlowKit's (CancelScope, Batch)
/// together. Immediate work runs on the calling thread through Rx's trampoline (<see cref="CurrentThreadScheduler"/>); timed work runs in
/// the provider's timer callback (with a <c>FakeTimeProvider</c>, inside <c>Advance</c>, synchronously).
/// </summary>
/// <example>
/// <code>
/// var time = new FakeTimeProvider();
/// var ticks = Observable.Interval(TimeSpan.FromSeconds(1), time.ToScheduler());
/// </code>
/// </example>
public sealed class TimeProviderScheduler : IScheduler, ISchedulerPeriodic, IStopwatchProvider, IServiceProvider
{
    // System timers that nothing references are collected and never fire; pending ones are rooted here until they fire or are disposed.
    private static readonly HashSet<object> Rooted = [];

    /// <summary>Creates a scheduler on <paramref name="timeProvider"/>.</summary>
    /// <param name="timeProvider">The clock; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    public TimeProviderScheduler(TimeProvider? timeProvider = null) => TimeProvider = timeProvider ?? TimeProvider.System;

    /// <summary>The scheduler's clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The clock's current time.</summary>
    public DateTimeOffset Now => TimeProvider.GetUtcNow();

    /// <summary>Runs <paramref name="action"/> now, on the calling thread through Rx's trampoline.</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="state">Passed to <paramref name="action"/>.</param>
    /// <param name="action">The work.</param>
    /// <returns>Disposing it cancels the work if it has not run yet.</returns>
    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var item = new LoopScheduledItem<TState>(this, state, action);
        var trampolined = CurrentThreadScheduler.Instance.Schedule(item, static (_, i) =>
        {
            i.Run();
            return i;
        });

        // Disposing cancels the work if it is still queued on the trampoline, and disposes what the work returned.
        return StableCompositeDisposable.Create(trampolined, item);
    }

    /// <summary>Runs <paramref name="action"/> after <paramref name="dueTime"/> on the clock, in the clock's timer callback.</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="state">Passed to <paramref name="action"/>.</param>
    /// <param name="dueTime">The delay; zero or negative runs now.</param>
    /// <param name="action">The work.</param>
    /// <returns>Disposing it cancels the work if it has not run yet.</returns>
    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (dueTime <= TimeSpan.Zero)
        {
            return Schedule(state, action);
        }

        // The work runs no earlier than dueTime after now on the clock's timestamps: a timer that fires early re-arms for the rest, and a
        // due time beyond what one timer can be armed for (about 49.7 days) is armed in steps.
        var item = new LoopScheduledItem<TState>(this, state, action);
        var timer = new TimedWork(item.Run);
        item.SetTimer(timer);
        timer.Start(TimeProvider, dueTime);
        return item;
    }

    /// <summary>Runs <paramref name="action"/> at <paramref name="dueTime"/> on the clock.</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="state">Passed to <paramref name="action"/>.</param>
    /// <param name="dueTime">When to run; a time in the past runs now.</param>
    /// <param name="action">The work.</param>
    /// <returns>Disposing it cancels the work if it has not run yet.</returns>
    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
        Schedule(state, dueTime - Now, action);

    /// <summary>Runs <paramref name="action"/> every <paramref name="period"/> on the clock, at start + n × period (n = 1, 2, ...): no tick
    /// comes before its instant, the ticks do not drift, and ticks missed while the clock jumped or a run was late are caught up at once.
    /// Runs never overlap.</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="state">The initial state.</param>
    /// <param name="period">Positive, or zero for back-to-back runs.</param>
    /// <param name="action">Receives the state and returns the next one.</param>
    /// <returns>Disposing it stops the periodic work.</returns>
    public IDisposable SchedulePeriodic<TState>(TState state, TimeSpan period, Func<TState, TState> action)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(action);
        var gate = new object();
        var current = state;
        // A zero period means back-to-back runs; one millisecond apart keeps them from monopolising the timer thread.
        var due = period < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : period;
        var timer = new TimedWork(() =>
        {
            lock (gate)
            {
                current = action(current);
            }
        }, periodic: true);
        timer.Start(TimeProvider, due, due);
        return timer;
    }

    /// <summary>Starts a stopwatch on the clock's timestamps.</summary>
    /// <returns>The running stopwatch.</returns>
    public IStopwatch StartStopwatch() => new LoopStopwatch(TimeProvider);

    /// <summary>Rx's service lookup: this scheduler provides <see cref="ISchedulerPeriodic"/> and <see cref="IStopwatchProvider"/>.</summary>
    /// <param name="serviceType">The requested service.</param>
    /// <returns>This scheduler, or <see langword="null"/>.</returns>
    public object? GetService(Type serviceType) =>
        serviceType == typeof(ISchedulerPeriodic) || serviceType == typeof(IStopwatchProvider) ? this : null;

    private sealed class TimedWork(Action work, bool periodic = false) : IDisposable
    {
        private ITimer? _timer;
        private TimeProvider? _time;
        private TimeSpan _period;
        private long _target = long.MaxValue;
        private bool _disposed;

        // One-shot work runs once `due` has passed; periodic work runs at start + n x period (n = 1, 2, ...), computed from the start so
        // the ticks do not drift, and catching up on ticks it missed. Either way the timer is only a wake-up, re-armed when it fires early.
        public void Start(TimeProvider time, TimeSpan due, TimeSpan? period = null)
        {
            lock (Rooted)
            {
                Rooted.Add(this);
            }

            lock (this)
            {
                if (_disposed)
                {
                    return;
                }

                _time = time;
                _period = period ?? TimeSpan.Zero;
                _target = TimerDue.TimestampAfter(time, time.GetTimestamp(), due);

                // A positive due time never calls back synchronously, so arming under the lock is safe.
                _timer = time.CreateTimer(static s => ((TimedWork)s!).Fire(), this, TimerDue.For(time, due), Timeout.InfiniteTimeSpan);
            }
        }

        public void Dispose()
        {
            ITimer? timer;
            lock (this)
            {
                _disposed = true;
                timer = _timer;
                _timer = null;
            }

            timer?.Dispose();
            lock (Rooted)
            {
                Rooted.Remove(this);
            }
        }

        private void Fire()
        {
            TimeProvider time;
            lock (this)
            {
                if (_disposed || _time is null || _timer is null)
                {
                    return;
                }

                time = _time;
                if (ReArmIfEarly(time))
                {
                    return;
                }
            }

            if (!periodic)
            {
                Dispose();
                work();
                return;
            }

            while (true)
            {
                work();
                lock (this)
                {
                    if (_disposed || _timer is null)
                    {
                        return;
                    }

                    _target = TimerDue.TimestampAfter(time, _target, _period);
                    if (ReArmIfEarly(time))
                    {
                        return;
                    }
                }

                // The next tick is already due (the clock jumped, or the callback ran late): run it now, like a timer catching up.
            }
        }

        // Under the lock. Re-arms and returns true when the target has not been reached yet.
        private bool ReArmIfEarly(TimeProvider time)
        {
            var remaining = TimerDue.Remaining(time, time.GetTimestamp(), _target);
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            _timer!.Change(TimerDue.For(time, remaining), Timeout.InfiniteTimeSpan);
            return true;
        }
    }
}
