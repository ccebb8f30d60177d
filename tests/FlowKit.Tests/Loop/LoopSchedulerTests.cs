using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using FlowKit.Testing;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Loop;

[TestClass]
public sealed class LoopSchedulerTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task Scheduler_Now_IsTheLoopsTime()
    {
        await using var host = new LoopTestHost();
        Assert.AreEqual(host.Loop.Time, host.Loop.Scheduler.Now);
        host.Time.Advance(TimeSpan.FromSeconds(7));
        Assert.AreEqual(host.Loop.Time, host.Loop.Scheduler.Now);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Interval_OnTheLoopScheduler_TicksOnTheLoopThreadAtVirtualSeconds()
    {
        await using var host = new LoopTestHost();
        var onLoop = true;
        var recorder = await host.OnLoop(() => Recorder<long>.Subscribe(
            Observable.Interval(TimeSpan.FromSeconds(1), host.Loop.Scheduler).Do(_ => onLoop &= host.Loop.IsOnLoopThread).Take(3),
            host.Time));
        for (var i = 0; i < 3; i++)
        {
            await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        }

        CollectionAssert.AreEqual(new long[] { 0, 1, 2 }, recorder.Values.ToArray());
        CollectionAssert.AreEqual(new[] { 1.0, 2.0, 3.0, 3.0 }, recorder.Events.Select(e => e.Time.TotalSeconds).ToArray());
        Assert.IsTrue(recorder.IsCompleted);
        Assert.IsTrue(onLoop);
        Assert.IsEmpty(recorder.Violations);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Schedule_DisposedBeforeItRuns_NeverRuns()
    {
        await using var host = new LoopTestHost();
        var ran = 0;
        await host.OnLoop(() =>
        {
            // On the loop thread, so the loop cannot run the immediate one before it is disposed.
            var soon = host.Loop.Scheduler.Schedule(() => ran++);
            var later = host.Loop.Scheduler.Schedule(TimeSpan.FromSeconds(1), () => ran++);
            var at = host.Loop.Scheduler.Schedule(host.Loop.Time + TimeSpan.FromSeconds(1), () => ran++);
            soon.Dispose();
            later.Dispose();
            at.Dispose();
            return 0;
        });
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        Assert.AreEqual(0, ran);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SchedulePeriodic_KeepsToTheGridWithoutDrift()
    {
        await using var host = new LoopTestHost();
        var periodic = (ISchedulerPeriodic)((IServiceProvider)host.Loop.Scheduler).GetService(typeof(ISchedulerPeriodic))!;
        var start = host.Loop.Time;
        var times = new List<TimeSpan>();
        using var subscription = periodic.SchedulePeriodic(0, TimeSpan.FromMilliseconds(250), n =>
        {
            times.Add(host.Loop.Time - start);
            return n + 1;
        });
        for (var i = 0; i < 8; i++)
        {
            await host.AdvanceAsync(TimeSpan.FromMilliseconds(250));
        }

        CollectionAssert.AreEqual(Enumerable.Range(1, 8).Select(i => TimeSpan.FromMilliseconds(250 * i)).ToList(), times);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => periodic.SchedulePeriodic(0, TimeSpan.FromTicks(-1), n => n));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RecursiveScheduling_TenThousandSteps_DoesNotOverflowTheStack()
    {
        await using var host = new LoopTestHost();
        var count = await host.OnLoop(() => Observable.Range(0, 10_000, host.Loop.Scheduler).Count().ToTask());
        Assert.AreEqual(10_000, await count);
    }
}
