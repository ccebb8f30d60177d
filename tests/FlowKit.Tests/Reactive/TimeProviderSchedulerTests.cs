using System.Reactive.Linq;
using System.Reactive.Subjects;
using FlowKit.Testing;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Reactive;

[TestClass]
public sealed class TimeProviderSchedulerTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task OneFakeClock_DrivesRxIntervalThrottleBufferAndFlowKitCancelScopeTogether()
    {
        var time = new FakeTimeProvider();
        var scheduler = time.ToScheduler();
        var interval = Recorder<long>.Subscribe(Observable.Interval(TimeSpan.FromSeconds(1), scheduler).Take(5), time);
        var timer = Recorder<long>.Subscribe(Observable.Timer(TimeSpan.FromSeconds(2.5), scheduler), time);
        var buffers = Recorder<IList<long>>.Subscribe(
            Observable.Interval(TimeSpan.FromMilliseconds(400), scheduler).Take(10).Buffer(TimeSpan.FromSeconds(1), scheduler), time);
        var input = new Subject<int>();
        var throttled = Recorder<int>.Subscribe(input.Throttle(TimeSpan.FromMilliseconds(500), scheduler), time);
        var scope = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(3), ct => Task.Delay(Timeout.InfiniteTimeSpan, time, ct), time: time);

        // Step by 100 ms: FakeTimeProvider.Advance fires the timers it passes, but with the clock already at the target.
        for (var i = 1; i <= 50; i++)
        {
            if (i == 1)
            {
                input.OnNext(1);
            }

            time.Advance(TimeSpan.FromMilliseconds(100));
            if (i == 2)
            {
                input.OnNext(2);
            }

            if (i == 8)
            {
                input.OnNext(3);
            }
        }

        Assert.IsFalse(await scope, "the cancel scope's 3 s deadline fired on the same clock");
        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 3, 4 }, interval.Values.ToArray());
        CollectionAssert.AreEqual(new[] { 1.0, 2.0, 3.0, 4.0, 5.0, 5.0 }, interval.Events.Select(e => e.Time.TotalSeconds).ToArray());
        Assert.AreEqual(2.5, timer.Events[0].Time.TotalSeconds);
        CollectionAssert.AreEqual(new[] { 2, 3 }, throttled.Values.ToArray());
        CollectionAssert.AreEqual(new[] { 0.7, 1.3 }, throttled.Events.Select(e => e.Time.TotalSeconds).ToArray());
        var batches = buffers.Values.Select(b => string.Join(",", b)).ToArray();
        CollectionAssert.AreEqual(new[] { "0,1", "2,3", "4,5,6", "7,8", "9" }, batches, string.Join(" | ", batches));
        Assert.IsTrue(buffers.IsCompleted);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Schedule_Disposed_NeverRuns_AndNowIsTheClocks()
    {
        var time = new FakeTimeProvider();
        var scheduler = new TimeProviderScheduler(time);
        Assert.AreEqual(time.GetUtcNow(), scheduler.Now);
        var ran = 0;
        var handle = System.Reactive.Concurrency.Scheduler.Schedule(scheduler, TimeSpan.FromSeconds(1), () => ran++);
        handle.Dispose();
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.AreEqual(0, ran);
        System.Reactive.Concurrency.Scheduler.Schedule(scheduler, time.GetUtcNow() + TimeSpan.FromSeconds(1), () => ran++);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.AreEqual(1, ran);
        Assert.ThrowsExactly<ArgumentNullException>(() => ReactiveTime.ToScheduler(null!));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void ImmediateWork_RecursiveScheduling_RunsOnTheTrampolineWithoutStackOverflow()
    {
        var scheduler = new FakeTimeProvider().ToScheduler();
        var count = 0;
        using var sub = Observable.Range(0, 100_000, scheduler).Subscribe(_ => count++);
        Assert.AreEqual(100_000, count);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void ImmediateWork_Disposed_DisposesWhatTheWorkReturned()
    {
        var scheduler = new TimeProviderScheduler(new FakeTimeProvider());
        var inner = new System.Reactive.Disposables.BooleanDisposable();
        var handle = scheduler.Schedule(0, (_, _) => inner);
        Assert.IsFalse(inner.IsDisposed);
        handle.Dispose();
        Assert.IsTrue(inner.IsDisposed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Stopwatch_MeasuresVirtualTime()
    {
        var time = new FakeTimeProvider();
        var watch = new TimeProviderScheduler(time).StartStopwatch();
        time.Advance(TimeSpan.FromSeconds(90));
        Assert.AreEqual(TimeSpan.FromSeconds(90), watch.Elapsed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SystemClock_TimerFires()
    {
        var value = await Observable.Timer(TimeSpan.FromMilliseconds(10), TimeProvider.System.ToScheduler()).FirstAsync();
        Assert.AreEqual(0L, value);
    }
}
