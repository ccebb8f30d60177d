using System.Reactive.Disposables;
using FlowKit.Testing;
using FlowKit.Tests.TestUtilities;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Structured;

/// <summary>Deadlines beyond what one system timer can be armed for (about 49.7 days) work, on a fake clock to the tick and on the real
/// clock without throwing; TimeSpan.MaxValue and Timeout.InfiniteTimeSpan mean never.</summary>
[TestClass]
public sealed class LongDeadlineTests
{
    private static readonly TimeSpan SixtyDays = TimeSpan.FromDays(60);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    [TestMethod]
    [Timeout(10_000)]
    public async Task MoveOnAfterAsync_SixtyDays_FiresExactlyAtTheInstant()
    {
        var time = new FakeTimeProvider();
        var run = CancelScope.MoveOnAfterAsync(SixtyDays, ct => Task.Delay(Timeout.Infinite, ct), time: time);
        time.Advance(SixtyDays - Tick);
        Assert.IsFalse(run.IsCompleted, "Fired before its instant.");
        time.Advance(Tick);
        Assert.IsFalse(await run);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task FailAfterAsync_SixtyDays_FiresExactlyAtTheInstant()
    {
        var time = new FakeTimeProvider();
        var run = CancelScope.FailAfterAsync(SixtyDays, ct => Task.Delay(Timeout.Infinite, ct), time: time);
        time.Advance(TimeSpan.FromDays(45));
        time.Advance(SixtyDays - TimeSpan.FromDays(45) - Tick);
        Assert.IsFalse(run.IsCompleted, "Fired before its instant.");
        time.Advance(Tick);
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => run);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CancelAfter_AndDeadlineSetter_SixtyDays_FireExactlyAtTheInstant()
    {
        var time = new FakeTimeProvider();
        using var byDelay = new CancelScope(timeProvider: time);
        byDelay.CancelAfter(SixtyDays);
        using var byDeadline = new CancelScope(timeProvider: time) { Deadline = time.GetUtcNow() + SixtyDays };
        Assert.AreEqual(time.GetUtcNow() + SixtyDays, byDeadline.Deadline);
        var runs = new[] { byDelay.RunAsync(ct => Task.Delay(Timeout.Infinite, ct)), byDeadline.RunAsync(ct => Task.Delay(Timeout.Infinite, ct)) };
        for (var day = 0; day < 59; day++)
        {
            time.Advance(TimeSpan.FromDays(1));
        }

        time.Advance(TimeSpan.FromDays(1) - Tick);
        Assert.IsFalse(byDelay.IsCancellationRequested || byDeadline.IsCancellationRequested, "Fired before its instant.");
        time.Advance(Tick);
        await Task.WhenAll(runs);
        Assert.IsTrue(byDelay.DeadlineReached && byDeadline.DeadlineReached);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task EventLoop_CallLaterAndSleep_SixtyDays_FireExactlyAtTheInstant()
    {
        await using var host = new LoopTestHost();
        var fired = false;
        await host.OnLoop(() => host.Loop.CallLater(SixtyDays, () => fired = true));
        var sleep = await host.OnLoop(() => host.Loop.SleepAsync(SixtyDays));
        await host.AdvanceAsync(SixtyDays - Tick);
        Assert.IsFalse(fired || sleep.IsCompleted, "Fired before its instant.");
        await host.AdvanceAsync(Tick);
        Assert.IsTrue(fired);
        await sleep;
    }

    [TestMethod]
    [Timeout(10_000)]
    public void TimeProviderScheduler_SixtyDays_RunsExactlyAtTheInstant()
    {
        var time = new FakeTimeProvider();
        var scheduler = new TimeProviderScheduler(time);
        var ran = false;
        using var work = scheduler.Schedule(0, SixtyDays, (_, _) =>
        {
            ran = true;
            return Disposable.Empty;
        });
        time.Advance(SixtyDays - Tick);
        Assert.IsFalse(ran, "Ran before its instant.");
        time.Advance(Tick);
        Assert.IsTrue(ran);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task VirtualClock_SixtyDayTimeout_RunsToTheInstant()
    {
        var clock = new VirtualClock();
        var run = CancelScope.MoveOnAfterAsync(SixtyDays, ct => Task.Delay(Timeout.InfiniteTimeSpan, clock, ct), time: clock);
        var elapsed = await clock.RunUntilCompleteAsync(run);
        Assert.IsFalse(await run);
        Assert.AreEqual(SixtyDays, elapsed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RealClock_LongAndInfiniteTimeouts_DoNotThrow()
    {
        Assert.IsTrue(await CancelScope.MoveOnAfterAsync(SixtyDays, _ => Task.CompletedTask));
        Assert.IsTrue(await CancelScope.MoveOnAfterAsync(TimeSpan.MaxValue, _ => Task.CompletedTask));
        Assert.IsTrue(await CancelScope.MoveOnAfterAsync(Timeout.InfiniteTimeSpan, _ => Task.CompletedTask));
        Assert.AreEqual(3, await CancelScope.FailAfterAsync(SixtyDays, _ => Task.FromResult(3)));
        using (var scope = new CancelScope())
        {
            scope.CancelAfter(SixtyDays);
            scope.Deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromDays(3650);
            scope.CancelAfter(TimeSpan.MaxValue);
            Assert.AreEqual(DateTimeOffset.MaxValue, scope.Deadline);
            Assert.IsFalse(scope.IsCancellationRequested);
        }

        using var loop = new EventLoop();
        loop.RunUntilComplete(async () =>
        {
            using var handle = loop.CallLater(SixtyDays, () => { });
            using var never = loop.CallLater(TimeSpan.MaxValue, () => { });
            using var infinite = loop.CallLater(Timeout.InfiniteTimeSpan, () => { });
            Assert.AreEqual(DateTimeOffset.MaxValue, infinite.When);
            using var sleepCts = new CancellationTokenSource();
            var forever = loop.SleepAsync(Timeout.InfiniteTimeSpan, sleepCts.Token);
            using var cts = new CancellationTokenSource();
            var sleep = loop.SleepAsync(SixtyDays, cts.Token);
            await loop.SleepAsync(TimeSpan.FromMilliseconds(5));
            Assert.IsFalse(sleep.IsCompleted || handle.IsDone || forever.IsCompleted || infinite.IsDone);
            sleepCts.Cancel();
            await Assert.ThrowsAsync<OperationCanceledException>(() => forever);
            cts.Cancel();
            await Assert.ThrowsAsync<OperationCanceledException>(() => sleep);
        });
        var scheduler = new TimeProviderScheduler();
        scheduler.Schedule(0, SixtyDays, (_, _) => Disposable.Empty).Dispose();
    }
}
