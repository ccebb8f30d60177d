using System.Diagnostics;
using FlowKit.Tests.TestUtilities;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Loop;

[TestClass]
public sealed class EventLoopTimerTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task CallLater_RunsByDueTimeThenBySchedulingOrder()
    {
        await using var host = new LoopTestHost();
        var log = new List<string>();
        await host.OnLoop(() =>
        {
            host.Loop.CallLater(TimeSpan.FromSeconds(3), () => log.Add("3s-a"));
            host.Loop.CallLater(TimeSpan.FromSeconds(1), () => log.Add("1s-a"));
            host.Loop.CallLater(TimeSpan.FromSeconds(3), () => log.Add("3s-b"));
            host.Loop.CallLater(TimeSpan.FromSeconds(1), () => log.Add("1s-b"));
            host.Loop.CallLater(TimeSpan.FromSeconds(2), () => log.Add("2s"));
            host.Loop.CallLater(TimeSpan.FromSeconds(1), () => log.Add("1s-c"));
            return 0;
        });
        await host.AdvanceAsync(TimeSpan.FromSeconds(10));
        CollectionAssert.AreEqual(new[] { "1s-a", "1s-b", "1s-c", "2s", "3s-a", "3s-b" }, log);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task CallLater_RandomDelays_AlwaysRunSortedByDueThenSequence()
    {
        var random = new Random(1234);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            await using var host = new LoopTestHost();
            var expected = new List<(int Due, int Seq)>();
            var ran = new List<(int Due, int Seq)>();
            for (var seq = 0; seq < 50; seq++)
            {
                var due = random.Next(0, 10);
                var entry = (due, seq);
                expected.Add(entry);
                host.Loop.CallLater(TimeSpan.FromMilliseconds(due * 100), () => ran.Add(entry));
            }

            await host.AdvanceAsync(TimeSpan.FromSeconds(2));
            CollectionAssert.AreEqual(expected.OrderBy(e => e.Due).ThenBy(e => e.Seq).ToList(), ran, $"iteration {iteration}");
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CallLater_FiresAtTheDueTick_NotBefore()
    {
        await using var host = new LoopTestHost();
        var fired = 0;
        var start = host.Loop.Time;
        var handle = host.Loop.CallLater(TimeSpan.FromSeconds(1), () => fired++);
        Assert.AreEqual(start + TimeSpan.FromSeconds(1), handle.When);
        await host.AdvanceAsync(TimeSpan.FromMilliseconds(999));
        Assert.AreEqual(0, fired, "off by a tick");
        await host.AdvanceAsync(TimeSpan.FromMilliseconds(1));
        Assert.AreEqual(1, fired);
        Assert.IsTrue(handle.IsDone);
        Assert.IsFalse(handle.IsCancelled);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CallLater_SubMillisecondDelay_FiresWithoutSpinning()
    {
        await using var host = new LoopTestHost();
        var fired = 0;
        host.Loop.CallLater(TimeSpan.FromTicks(5_000), () => fired++);
        await host.AdvanceAsync(TimeSpan.FromMilliseconds(1));
        Assert.AreEqual(1, fired);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CallLater_CancelledHandle_NeverRuns()
    {
        await using var host = new LoopTestHost();
        var log = new List<string>();
        var keep = host.Loop.CallLater(TimeSpan.FromSeconds(1), () => log.Add("kept"));
        var drop = host.Loop.CallLater(TimeSpan.FromSeconds(1), () => log.Add("dropped"));
        drop.Cancel();
        drop.Dispose();
        Assert.IsTrue(drop.IsCancelled);
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        CollectionAssert.AreEqual(new[] { "kept" }, log);
        keep.Cancel();
        Assert.IsFalse(keep.IsCancelled, "cancelling after it ran does nothing");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CallLater_CancelledByAnEarlierCallbackDueAtTheSameTime_DoesNotRun()
    {
        await using var host = new LoopTestHost();
        var ran = false;
        LoopTimerHandle? second = null;
        host.Loop.CallLater(TimeSpan.FromSeconds(1), () => second!.Cancel());
        second = host.Loop.CallLater(TimeSpan.FromSeconds(1), () => ran = true);
        await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.IsFalse(ran);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CallLater_MaxDelay_MeansNever_InsteadOfOverflowing()
    {
        await using var host = new LoopTestHost();
        var ran = false;
        var handle = host.Loop.CallLater(TimeSpan.MaxValue, () => ran = true);
        Assert.AreEqual(DateTimeOffset.MaxValue, handle.When);
        await host.AdvanceAsync(TimeSpan.FromDays(3650));
        Assert.IsFalse(ran);
        handle.Cancel();
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CallAt_InThePast_RunsAtTheNextIteration()
    {
        await using var host = new LoopTestHost();
        var ran = await host.OnLoop(() =>
        {
            var tcs = new TaskCompletionSource<bool>();
            host.Loop.CallAt(host.Loop.Time - TimeSpan.FromHours(1), () => tcs.SetResult(true));
            return tcs.Task;
        });
        Assert.IsTrue(await ran);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Time_FollowsTheTimeProvider()
    {
        await using var host = new LoopTestHost();
        var start = host.Loop.Time;
        Assert.AreEqual(host.Time.GetUtcNow(), start);
        host.Time.Advance(TimeSpan.FromMinutes(3));
        Assert.AreEqual(start + TimeSpan.FromMinutes(3), host.Loop.Time);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SleepAsync_Cancelled_ThrowsWithTheCallersToken_AndRemovesTheTimer()
    {
        await using var host = new LoopTestHost();
        using var cts = new CancellationTokenSource();
        var sleep = host.Loop.SleepAsync(TimeSpan.FromSeconds(10), cts.Token);
        Assert.AreEqual(1, host.Loop.GetStatistics().ScheduledTimers);
        cts.Cancel();
        var ex = await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => sleep);
        Assert.AreEqual(cts.Token, ex.CancellationToken);
        await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => host.Loop.SleepAsync(TimeSpan.FromSeconds(1), cts.Token));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task WaitAllTasksBlocked_IsNotSatisfiedWhileATimerIsDueButNotRun()
    {
        await using var host = new LoopTestHost();
        await host.Loop.WaitAllTasksBlockedAsync();
        var ran = 0;
        for (var i = 0; i < 200; i++)
        {
            await host.OnLoop(() => host.Loop.CallLater(TimeSpan.Zero, () => ran++));
            await host.Loop.WaitAllTasksBlockedAsync();
            Assert.AreEqual(i + 1, ran, "idle reported before a due timer ran");
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public void VirtualTime_FortyFiveSleepsOf450VirtualSeconds_TakeUnderOneRealSecond()
    {
        // Reliability family 20: 0+10+...+90 s of sleeps on a fake clock.
        var time = new FakeTimeProvider();
        using var loop = new EventLoop(time);
        var watch = Stopwatch.StartNew();
        var start = loop.Time;
        var ends = new List<TimeSpan>();
        var run = Task.Factory.StartNew(() => loop.RunUntilComplete(async () =>
        {
            for (var s = 0; s <= 90; s += 10)
            {
                await loop.SleepAsync(TimeSpan.FromSeconds(s));
                ends.Add(loop.Time - start);
            }
        }), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        SpinWait.SpinUntil(() => loop.IsRunning || run.IsCompleted);
        while (!run.IsCompleted)
        {
            loop.WaitAllTasksBlockedAsync().Wait();
            if (!run.IsCompleted)
            {
                time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        run.Wait();
        watch.Stop();
        // The driver may advance once more after the coroutine finished but before the run's task completed; the coroutine's own clock counts.
        var virtualSeconds = ends[^1].TotalSeconds;
        var realMsPerVirtualHour = watch.Elapsed.TotalMilliseconds / virtualSeconds * 3600;
        Console.WriteLine($"family 20: {virtualSeconds} virtual s in {watch.Elapsed.TotalMilliseconds:F0} real ms ({realMsPerVirtualHour:F0} real ms per virtual hour); off-by-tick = {ends.Where((e, i) => e != TimeSpan.FromSeconds(Enumerable.Range(0, i + 1).Sum(k => k * 10))).Count()}");
        Assert.AreEqual(450, virtualSeconds);
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(i => TimeSpan.FromSeconds(Enumerable.Range(0, i + 1).Sum(k => k * 10))).ToList(), ends);
        Assert.IsLessThan(1000.0, watch.Elapsed.TotalMilliseconds);
    }
}
