using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Loop;

/// <summary>Reliability families 18 (checkpoints) and 21 (real-time sanity) as they apply to the event loop.</summary>
[TestClass]
public sealed class EventLoopReliabilityTests
{
    [TestMethod]
    [Timeout(10_000)]
    public void Checkpoint_SleepZero_YieldsToCallbacksQueuedBeforeIt()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var log = new List<string>();
        loop.RunUntilComplete(async () =>
        {
            loop.CallSoon(() => log.Add("callback"));
            await loop.SleepAsync(TimeSpan.Zero);
            log.Add("after sleep(0)");
        });
        CollectionAssert.AreEqual(new[] { "callback", "after sleep(0)" }, log);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Checkpoint_RunInExecutor_AlwaysCompletesThroughTheLoopQueue()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var (completedInline, result, onLoop) = loop.RunUntilComplete(async () =>
        {
            // The loop thread is busy running this coroutine, so the result cannot have been delivered yet, however fast the work is.
            var work = loop.RunInExecutor(() => 1);
            var inline = work.IsCompleted;
            var r = await work;
            return (inline, r, loop.IsOnLoopThread);
        });
        Assert.IsFalse(completedInline);
        Assert.AreEqual(1, result);
        Assert.IsTrue(onLoop);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Checkpoint_SyncApis_NeverRunTheCallbackInline()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var violations = 0;
        loop.RunUntilComplete(() =>
        {
            var ran = false;
            loop.CallSoon(() => ran = true);
            violations += ran ? 1 : 0;
            loop.CallLater(TimeSpan.Zero, () => ran = true);
            violations += ran ? 1 : 0;
            loop.CallAt(loop.Time - TimeSpan.FromSeconds(1), () => ran = true);
            violations += ran ? 1 : 0;
            return Task.CompletedTask;
        });
        Console.WriteLine($"family 18: APIs checked 5 (SleepAsync, RunInExecutor, CallSoon, CallLater, CallAt), violations = {violations}");
        Assert.AreEqual(0, violations);
    }

    [TestMethod]
    [TestCategory("Slow")]
    [Timeout(20_000)]
    public void RealTime_OneSecondSleep_MeasuresBetweenOneAndTwoSeconds()
    {
        using var loop = new EventLoop();
        var watch = Stopwatch.StartNew();
        loop.RunUntilComplete(() => loop.SleepAsync(TimeSpan.FromSeconds(1)));
        watch.Stop();
        var ratio = watch.Elapsed.TotalSeconds / 1.0;
        Console.WriteLine($"family 21: 1.0 s sleep measured {watch.Elapsed.TotalSeconds:F3} s (ratio {ratio:F3})");
        Assert.IsGreaterThanOrEqualTo(1.0, ratio);
        Assert.IsLessThan(2.0, ratio);
    }
}
