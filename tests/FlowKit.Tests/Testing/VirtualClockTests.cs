using System.Diagnostics;
using System.Reactive.Linq;
using FlowKit.Testing;

namespace FlowKit.Tests.Testing;

[TestClass]
public sealed class VirtualClockTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task RunUntilComplete_ChainedDelaysOnThePool_JumpsThroughThemExactly()
    {
        var clock = new VirtualClock();
        var stamps = new List<TimeSpan>();
        var work = Task.Run(async () =>
        {
            for (var i = 1; i <= 5; i++)
            {
                await Task.Delay(TimeSpan.FromSeconds(i), clock).ConfigureAwait(false);
                stamps.Add(clock.Elapsed);
            }
        });
        var elapsed = await clock.RunUntilCompleteAsync(work);
        await work;
        Assert.AreEqual(TimeSpan.FromSeconds(15), elapsed);
        CollectionAssert.AreEqual(new[] { 1, 3, 6, 10, 15 }.Select(s => TimeSpan.FromSeconds(s)).ToList(), stamps);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunUntilComplete_CancelScopeTimeout_FiresAtTheDeadlineTick()
    {
        var clock = new VirtualClock();
        var task = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(30), ct => Task.Delay(TimeSpan.FromHours(1), clock, ct), time: clock);
        var elapsed = await clock.RunUntilCompleteAsync(task);
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => task);
        Assert.AreEqual(TimeSpan.FromSeconds(30), elapsed, "off by a tick");
    }

    [TestMethod]
    [Timeout(20_000)]
    [DataRow(0)]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    [DataRow(4)]
    public async Task RunUntilComplete_WorkOnAnAttachedLoop_SettlesBeforeEachJump(int repeat)
    {
        _ = repeat;
        var clock = new VirtualClock();
        using var loop = new EventLoop(clock);
        clock.Attach(loop);
        var log = new List<string>();
        var run = Task.Run(() => loop.RunUntilComplete(async () =>
        {
            // Each step does many hops on the loop before arming the next timer: the clock must not jump past it.
            for (var i = 0; i < 3; i++)
            {
                for (var hop = 0; hop < 100; hop++)
                {
                    await Task.Yield();
                }

                await loop.SleepAsync(TimeSpan.FromSeconds(1));
                log.Add($"{clock.Elapsed.TotalSeconds}");
            }
        }));
        var elapsed = await clock.RunUntilCompleteAsync(run);
        CollectionAssert.AreEqual(new[] { "1", "2", "3" }, log);
        Assert.AreEqual(TimeSpan.FromSeconds(3), elapsed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AdvanceAsync_StopsAtTheTarget_AndFiresOnlyWhatIsDue()
    {
        var clock = new VirtualClock();
        var fired = new List<double>();
        var scheduler = clock.ToScheduler();
        using var a = Observable.Timer(TimeSpan.FromSeconds(1), scheduler).Subscribe(_ => fired.Add(clock.Elapsed.TotalSeconds));
        using var b = Observable.Timer(TimeSpan.FromSeconds(5), scheduler).Subscribe(_ => fired.Add(clock.Elapsed.TotalSeconds));
        Assert.AreEqual(2, clock.PendingTimers);
        await clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        CollectionAssert.AreEqual(new[] { 1.0 }, fired);
        Assert.AreEqual(TimeSpan.FromSeconds(3), clock.Elapsed);
        Assert.AreEqual(clock.GetUtcNow() + TimeSpan.FromSeconds(2), clock.NextTimerDue);
        await clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        CollectionAssert.AreEqual(new[] { 1.0, 5.0 }, fired);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => clock.AdvanceAsync(TimeSpan.FromTicks(-1)).GetAwaiter().GetResult());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AdvanceUntilIdle_PeriodicTimer_StopsAtTheLimit()
    {
        var clock = new VirtualClock();
        var ticks = 0;
        using var sub = Observable.Interval(TimeSpan.FromSeconds(1), clock.ToScheduler()).Subscribe(_ => ticks++);
        var elapsed = await clock.AdvanceUntilIdleAsync(TimeSpan.FromSeconds(10));
        Assert.AreEqual(10, ticks);
        Assert.AreEqual(TimeSpan.FromSeconds(10), elapsed);
        var stats = clock.GetStatistics();
        Assert.AreEqual(10L, stats.TimersFired);
        Assert.AreEqual(1, stats.PendingTimers);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AdvanceUntilIdle_NoTimers_ReturnsAtOnce()
    {
        var clock = new VirtualClock();
        Assert.AreEqual(TimeSpan.Zero, await clock.AdvanceUntilIdleAsync(TimeSpan.FromDays(1)));
        Assert.IsNull(clock.NextTimerDue);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task DisposedTimer_IsNoLongerPending()
    {
        var clock = new VirtualClock();
        var timer = clock.CreateTimer(_ => { }, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        Assert.AreEqual(1, clock.PendingTimers);
        timer.Change(TimeSpan.FromSeconds(4), Timeout.InfiniteTimeSpan);
        Assert.AreEqual(clock.GetUtcNow() + TimeSpan.FromSeconds(4), clock.NextTimerDue);
        await timer.DisposeAsync();
        Assert.AreEqual(0, clock.PendingTimers);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task VirtualHour_OfOneSecondSleeps_TakesLittleRealTime()
    {
        // Reliability family 20: real ms per virtual hour through the autojump clock.
        var clock = new VirtualClock();
        var watch = Stopwatch.StartNew();
        var work = Task.Run(async () =>
        {
            for (var i = 0; i < 3600; i += 60)
            {
                await Task.Delay(TimeSpan.FromSeconds(60), clock).ConfigureAwait(false);
            }
        });
        var elapsed = await clock.RunUntilCompleteAsync(work);
        watch.Stop();
        Console.WriteLine($"family 20 (VirtualClock autojump): 1 virtual hour in 60 jumps took {watch.Elapsed.TotalMilliseconds:F0} real ms");
        Assert.AreEqual(TimeSpan.FromHours(1), elapsed);
    }
}
