using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Testing;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that knows its pending timers, so it can jump straight to the next one and wait until the work it
/// set off has settled before jumping again (Trio's autojump <c>MockClock</c>, Kotlin's <c>advanceUntilIdle</c>).
/// </summary>
/// <remarks>
/// <para>"Settled" is exact for work on an <see cref="EventLoop"/> passed to <see cref="Attach"/>: the clock waits for
/// <see cref="EventLoop.WaitAllTasksBlockedAsync"/>. Work on the thread pool cannot be observed that way; for it the clock waits until
/// nothing it can see changes (no timer created, changed, fired or disposed and no loop callback run) over
/// <see cref="QuietRounds"/> consecutive round trips through the thread pool. That covers continuations that run right after a timer
/// fires, but not pool work that runs longer than a few round trips without touching a timer (CPU-bound work, real I/O): await such
/// work explicitly, or run it on an attached loop.</para>
/// </remarks>
/// <example>
/// <code>
/// var clock = new VirtualClock();
/// var task = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), ct => Task.Delay(Timeout.Infinite, clock, ct), time: clock);
/// TimeSpan elapsed = await clock.RunUntilCompleteAsync(task);   // 5 s of virtual time, at once
/// </code>
/// </example>
[DebuggerDisplay("{GetUtcNow()}, Timers = {PendingTimers}")]
public sealed class VirtualClock : FakeTimeProvider
{
    private readonly object _gate = new();
    private readonly HashSet<TrackedTimer> _timers = [];
    private readonly List<EventLoop> _loops = [];
    private readonly DateTimeOffset _start;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _activity;
    private long _timersFired;
    private long _jumps;

    /// <summary>Creates a clock at midnight, January 1st 2000 (UTC), like <see cref="FakeTimeProvider"/>.</summary>
    public VirtualClock()
    {
        _start = GetUtcNow();
    }

    /// <summary>Creates a clock at <paramref name="start"/>.</summary>
    /// <param name="start">The clock's initial time.</param>
    public VirtualClock(DateTimeOffset start)
        : base(start)
    {
        _start = start;
    }

    /// <summary>How many thread-pool round trips without visible activity count as settled.</summary>
    /// <value>The default value is 3.</value>
    public int QuietRounds { get; init; } = 3;

    /// <summary>Virtual time elapsed since the clock was created.</summary>
    public TimeSpan Elapsed => GetUtcNow() - _start;

    /// <summary>Timers created on this clock that are armed and have not fired yet.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(t => t.Due is not null);
            }
        }
    }

    /// <summary>When the next pending timer is due, or <see langword="null"/> when none is.</summary>
    public DateTimeOffset? NextTimerDue
    {
        get
        {
            lock (_gate)
            {
                DateTimeOffset? next = null;
                foreach (var t in _timers)
                {
                    if (t.Due is { } due && (next is null || due < next))
                    {
                        next = due;
                    }
                }

                return next;
            }
        }
    }

    /// <summary>A snapshot of the clock's counters.</summary>
    /// <returns>The counters at the time of the call.</returns>
    public VirtualClockStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new VirtualClockStatistics(_timers.Count(t => t.Due is not null), Interlocked.Read(ref _timersFired), Interlocked.Read(ref _jumps), Elapsed);
        }
    }

    /// <summary>Lets the clock wait for <paramref name="loop"/> to be idle (<see cref="EventLoop.WaitAllTasksBlockedAsync"/>) before it moves on.</summary>
    /// <param name="loop">A loop whose clock is this one.</param>
    public void Attach(EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        lock (_gate)
        {
            _loops.Add(loop);
            _activity++;
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var tracked = new TrackedTimer(this, callback, state);
        tracked.Arm(dueTime, period);
        lock (_gate)
        {
            _timers.Add(tracked);
        }

        tracked.Inner = base.CreateTimer(static s => ((TrackedTimer)s!).Fire(), tracked, dueTime, period);
        OnActivity();
        return tracked;
    }

    /// <summary>Waits until the work already set off has settled: every attached running loop is idle and nothing visible changed over
    /// <see cref="QuietRounds"/> thread-pool round trips. Does not move the clock.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when settled.</returns>
    public async Task SettleAsync(CancellationToken cancellationToken = default)
    {
        var quiet = 0;
        var last = Version();
        while (quiet < QuietRounds)
        {
            EventLoop[] loops;
            lock (_gate)
            {
                loops = [.. _loops];
            }

            foreach (var loop in loops)
            {
                if (loop.IsRunning)
                {
                    await loop.WaitAllTasksBlockedAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await Task.Run(static () => { }, cancellationToken).ConfigureAwait(false);
            await Task.Yield();
            var now = Version();
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
    }

    /// <summary>Moves the clock forward by <paramref name="delta"/>, one timer at a time, settling after each so the work a timer sets off
    /// can schedule the next one at the right virtual time.</summary>
    /// <param name="delta">Zero or positive.</param>
    /// <param name="cancellationToken">Stops advancing.</param>
    /// <returns>A task that completes once the clock is at the target and the work has settled.</returns>
    public async Task AdvanceAsync(TimeSpan delta, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        var target = GetUtcNow() + delta;
        while (true)
        {
            await SettleAsync(cancellationToken).ConfigureAwait(false);
            if (NextTimerDue is { } next && next <= target)
            {
                JumpTo(next);
                continue;
            }

            JumpTo(target);
            await SettleAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
    }

    /// <summary>Autojump: runs virtual time forward, timer by timer, until <paramref name="task"/> completes. When no timer is pending the
    /// clock waits (in real time) for one to appear or for the task to finish, so a test timeout catches a real deadlock.</summary>
    /// <param name="task">What the test waits for; it is not awaited, so its exception stays with it.</param>
    /// <param name="cancellationToken">Stops advancing.</param>
    /// <returns>The virtual time that passed.</returns>
    public async Task<TimeSpan> RunUntilCompleteAsync(Task task, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        var start = GetUtcNow();
        while (true)
        {
            var changed = ChangedSignal();
            await SettleAsync(cancellationToken).ConfigureAwait(false);
            if (task.IsCompleted)
            {
                return GetUtcNow() - start;
            }

            if (NextTimerDue is { } next)
            {
                JumpTo(next);
                continue;
            }

            await Task.WhenAny(task, changed).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs virtual time forward until no timer is pending (Kotlin's <c>advanceUntilIdle</c>), at most <paramref name="limit"/>
    /// so periodic timers cannot loop forever.</summary>
    /// <param name="limit">The most virtual time to advance; positive.</param>
    /// <param name="cancellationToken">Stops advancing.</param>
    /// <returns>The virtual time that passed.</returns>
    public async Task<TimeSpan> AdvanceUntilIdleAsync(TimeSpan limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit, TimeSpan.Zero);
        var start = GetUtcNow();
        var end = start + limit;
        while (true)
        {
            await SettleAsync(cancellationToken).ConfigureAwait(false);
            if (NextTimerDue is not { } next || next > end)
            {
                return GetUtcNow() - start;
            }

            JumpTo(next);
        }
    }

    private void JumpTo(DateTimeOffset when)
    {
        if (when > GetUtcNow())
        {
            Interlocked.Increment(ref _jumps);
            SetUtcNow(when);
        }
        else
        {
            // Due already (a timer armed below the clock's millisecond resolution): let the fake clock fire it.
            SetUtcNow(GetUtcNow());
        }
    }

    private long Version()
    {
        long version;
        EventLoop[] loops;
        lock (_gate)
        {
            version = _activity;
            loops = [.. _loops];
        }

        foreach (var loop in loops)
        {
            version += loop.GetStatistics().CallbacksRun;
        }

        return version;
    }

    private Task ChangedSignal()
    {
        lock (_gate)
        {
            return _changed.Task;
        }
    }

    private void OnActivity()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _activity++;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private sealed class TrackedTimer(VirtualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period;

        public ITimer? Inner { get; set; }

        public DateTimeOffset? Due { get; private set; }

        public void Arm(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                _period = period;

                // The fake clock schedules to the tick: tracking a whole-millisecond due time would make the clock jump to an instant
                // before the timer is due, where it does not fire, and then jump there again and again.
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock.GetUtcNow() + dueTime;
            }
        }

        public void Fire()
        {
            lock (clock._gate)
            {
                Due = _period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan ? clock.GetUtcNow() + _period : null;
            }

            Interlocked.Increment(ref clock._timersFired);
            clock.OnActivity();
            callback(state);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Arm(dueTime, period);
            clock.OnActivity();
            return Inner?.Change(dueTime, period) ?? false;
        }

        public void Dispose()
        {
            lock (clock._gate)
            {
                Due = null;
                clock._timers.Remove(this);
            }

            Inner?.Dispose();
            clock.OnActivity();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
