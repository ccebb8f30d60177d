using System.Reactive.Disposables;
using FlowKit.Testing;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Structured;

/// <summary>A clock whose timers fire a little before they are due (as the system timer does, by up to a millisecond): every FlowKit
/// deadline re-arms and fires at or after its instant, never before and never not at all.</summary>
[TestClass]
public sealed class EarlyFireTests
{
    [TestMethod]
    [Timeout(10_000)]
    public void CancelScope_TimerFiresEarly_ReArmsAndFiresAtTheInstant()
    {
        var time = new EarlyTimeProvider(TimeSpan.FromMilliseconds(0.6));
        using var scope = new CancelScope(timeProvider: time);
        scope.CancelAfter(TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(99.5));
        Assert.IsFalse(scope.IsCancellationRequested, "Fired before its instant.");
        time.Advance(TimeSpan.FromMilliseconds(0.5));
        Assert.IsTrue(scope.IsCancellationRequested && scope.DeadlineReached, "An early wake-up must re-arm, not give up.");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task FailAfterAsync_TimerFiresEarly_StillTimesOut()
    {
        var time = new EarlyTimeProvider(TimeSpan.FromMilliseconds(0.6));
        var run = CancelScope.FailAfterAsync(TimeSpan.FromMilliseconds(100), ct => Task.Delay(Timeout.Infinite, ct), time: time);
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => run);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void TimeProviderScheduler_TimerFiresEarly_RunsAtTheInstant()
    {
        var time = new EarlyTimeProvider(TimeSpan.FromMilliseconds(0.6));
        var scheduler = new TimeProviderScheduler(time);
        var ran = false;
        using var work = scheduler.Schedule(0, TimeSpan.FromMilliseconds(100), (_, _) =>
        {
            ran = true;
            return Disposable.Empty;
        });
        time.Advance(TimeSpan.FromMilliseconds(99.5));
        Assert.IsFalse(ran, "Ran before its instant.");
        time.Advance(TimeSpan.FromMilliseconds(0.5));
        Assert.IsTrue(ran);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void TimeProviderSchedulerPeriodic_TimerFiresEarly_TicksAtStartPlusNPeriods()
    {
        var time = new EarlyTimeProvider(TimeSpan.FromMilliseconds(0.6));
        var scheduler = new TimeProviderScheduler(time);
        var ticks = 0;
        using var periodic = scheduler.SchedulePeriodic(0, TimeSpan.FromMilliseconds(10), s =>
        {
            ticks++;
            return s;
        });
        time.Advance(TimeSpan.FromMilliseconds(9.5));
        Assert.AreEqual(0, ticks, "Ticked before start + 1 period.");
        time.Advance(TimeSpan.FromMilliseconds(0.5));
        Assert.AreEqual(1, ticks);
        time.Advance(TimeSpan.FromMilliseconds(9.9));
        Assert.AreEqual(1, ticks, "Ticked before start + 2 periods.");
        time.Advance(TimeSpan.FromMilliseconds(0.1));
        Assert.AreEqual(2, ticks);

        // A jump over several periods catches up on every tick it passed.
        time.Advance(TimeSpan.FromMilliseconds(35));
        Assert.AreEqual(5, ticks);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task VirtualClock_SubMillisecondDue_JumpsToTheTickAndFires()
    {
        var clock = new VirtualClock();
        var start = clock.GetUtcNow();
        var run = CancelScope.MoveOnAfterAsync(TimeSpan.FromTicks(10_7000), ct => Task.Delay(Timeout.InfiniteTimeSpan, clock, ct), time: clock);
        var elapsed = await clock.RunUntilCompleteAsync(run).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsFalse(await run);
        Assert.AreEqual(TimeSpan.FromTicks(10_7000), elapsed);
        Assert.AreEqual(start + TimeSpan.FromTicks(10_7000), clock.GetUtcNow());
    }

    /// <summary>A fake clock whose one-shot timers are due <c>early</c> before the time they were armed for.</summary>
    private sealed class EarlyTimeProvider(TimeSpan early) : FakeTimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new EarlyTimer(base.CreateTimer(callback, state, Early(dueTime), period), this);

        private TimeSpan Early(TimeSpan due) => due == Timeout.InfiniteTimeSpan || due <= early ? due : due - early;

        private sealed class EarlyTimer(ITimer inner, EarlyTimeProvider owner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(owner.Early(dueTime), period);

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
