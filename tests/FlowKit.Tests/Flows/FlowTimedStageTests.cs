using System.Diagnostics;
using System.Runtime.CompilerServices;

using FlowKit.Tests.TestUtilities;

using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Flows;

/// <summary>The timed stages (Batch with a maxDelay, RateLimit) on the real clock, on a fake one, and on a clock whose timers fire early.</summary>
[TestClass]
public sealed class FlowTimedStageTests
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(20);

    // Generous: a stall is a failure, lateness is reported, not asserted tightly (2 loaded cores).
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    public TestContext TestContext { get; set; } = null!;

    public enum After
    {
        Stalls,
        Completes,
        Fails,
        IsCancelled,
    }

    /// <summary>The program: 1, 2, 3, then the source waits until the sink has seen them. The partial batch must come out
    /// maxDelay after its first item (never earlier), whatever the source does next.</summary>
    [TestMethod]
    [Timeout(120_000)]
    [DataRow(After.Stalls)]
    [DataRow(After.Completes)]
    [DataRow(After.Fails)]
    [DataRow(After.IsCancelled)]
    public async Task TimedBatch_RealClock_PartialBatchIsEmittedWhenTheSourceStalls(After after)
    {
        var runs = FlowsTestSupport.Stress ? 1_000 : 100;
        var lateness = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var firstAt = 0L;
            using var cts = new CancellationTokenSource();

            async IAsyncEnumerable<int> Source([EnumeratorCancellation] CancellationToken ct = default)
            {
                firstAt = Stopwatch.GetTimestamp();
                yield return 1;
                yield return 2;
                yield return 3;
                if (after == After.Completes)
                {
                    yield break;
                }

                // Waits for the sink's side; a stalled batch shows as a timeout here, and the run then ends without it.
                try
                {
                    await release.Task.WaitAsync(Bound, ct).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                }

                if (after == After.Fails)
                {
                    throw new InvalidDataException("source failed after its stall");
                }

                if (after == After.IsCancelled)
                {
                    await cts.CancelAsync().ConfigureAwait(false);
                    ct.ThrowIfCancellationRequested();
                }

                yield return 4;
            }

            var batches = new List<(int[] Batch, TimeSpan Elapsed)>();
            var flow = Flow.From(Source()).Batch(100, MaxDelay).ForEachAsync(
                (b, _) =>
                {
                    batches.Add((b, Stopwatch.GetElapsedTime(firstAt)));
                    release.TrySetResult();
                    return ValueTask.CompletedTask;
                },
                cts.Token);
            try
            {
                await flow;
            }
            catch (Exception ex) when ((after == After.Fails && ex is FlowStageException) || (after == After.IsCancelled && ex is OperationCanceledException))
            {
            }

            Assert.IsTrue(batches.Count > 0, $"run {run} ({after}): the partial batch [1,2,3] was never emitted");
            CollectionAssert.AreEqual(new[] { 1, 2, 3 }, batches[0].Batch, $"run {run}");
            if (after != After.Completes)
            {
                Assert.IsTrue(batches[0].Elapsed >= MaxDelay, $"run {run}: emitted {batches[0].Elapsed.TotalMilliseconds:F2} ms after its first item, before maxDelay");
                Assert.IsTrue(batches[0].Elapsed < MaxDelay + Bound, $"run {run}: emitted {batches[0].Elapsed.TotalMilliseconds:F2} ms after its first item");
                lateness.Add((batches[0].Elapsed - MaxDelay).TotalMilliseconds);
            }
        }

        if (lateness.Count > 0)
        {
            lateness.Sort();
            var line = $"timed Batch(100, 20 ms), source {after}: {runs} real-clock runs, lateness after maxDelay p50 {lateness[lateness.Count / 2]:F2} ms, " +
                       $"p99 {lateness[(int)(lateness.Count * 0.99)]:F2} ms, max {lateness[^1]:F2} ms";
            Console.WriteLine(line);
            TestContext.WriteLine(line);
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public async Task TimedBatch_FakeClock_PartialBatchAtExactlyMaxDelay_EvenWhenTimersFireEarly(bool timersFireEarly)
    {
        for (var run = 0; run < 50; run++)
        {
            var fake = new FakeTimeProvider();
            var clock = new TimerTrackingTimeProvider(fake);
            TimeProvider time = timersFireEarly ? new EarlyFiringTimeProvider(clock, TimeSpan.FromMilliseconds(1)) : clock;
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var wrote = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

            async IAsyncEnumerable<int> Source()
            {
                yield return 1;
                yield return 2;
                yield return 3;
                wrote.TrySetResult();
                await release.Task.ConfigureAwait(false);
                yield return 4;
            }

            var first = new TaskCompletionSource<(int[] Batch, DateTimeOffset At)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var start = fake.GetUtcNow();
            var flow = Flow.From(Source()).Batch(100, MaxDelay, time).ForEachAsync(
                (b, _) =>
                {
                    first.TrySetResult((b, fake.GetUtcNow()));
                    release.TrySetResult();
                    return ValueTask.CompletedTask;
                });
            await wrote.Task;

            // An auto-jumping clock: time moves only to the instant of a pending timer. A stage that stopped waiting on its timer (it took
            // an early fire for the deadline and did not arm it again) leaves nothing to jump to: that is the stall this test catches.
            var real = Stopwatch.StartNew();
            while (!first.Task.IsCompleted)
            {
                Assert.IsTrue(real.Elapsed < Bound, $"run {run}: no batch and no timer pending at {(fake.GetUtcNow() - start).TotalMilliseconds} virtual ms");
                clock.AdvanceToNextDue();

                await FlowsTestSupport.YieldFairlyAsync();
            }

            var (batch, at) = await first.Task;
            CollectionAssert.AreEqual(new[] { 1, 2, 3 }, batch);
            Assert.IsTrue(at - start >= MaxDelay, $"run {run}: emitted at {(at - start).TotalMilliseconds} virtual ms, before maxDelay");
            Assert.IsTrue(at - start <= MaxDelay + TimeSpan.FromMilliseconds(1), $"run {run}: emitted at {(at - start).TotalMilliseconds} virtual ms");
            await flow;
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task RateLimit_TimersFiringEarly_NeverLetsMoreThanTheRateThrough()
    {
        var fake = new FakeTimeProvider();
        var time = new EarlyFiringTimeProvider(fake, TimeSpan.FromMilliseconds(0.5));
        var times = new List<TimeSpan>();
        var start = fake.GetUtcNow();
        var run = Flow.From(Enumerable.Range(0, 40)).RateLimit(4, TimeSpan.FromMilliseconds(100), time)
            .ForEachAsync(_ => times.Add(fake.GetUtcNow() - start));
        await FlowsTestSupport.AdvanceUntilAsync(fake, run, TimeSpan.FromMilliseconds(1));
        await run;

        Assert.AreEqual(40, times.Count);

        // A token every 25 ms after a burst of 4: item i never before (i - 3) * 25 ms.
        for (var i = 4; i < times.Count; i++)
        {
            Assert.IsTrue(times[i] >= TimeSpan.FromMilliseconds((i - 3) * 25), $"item {i} at {times[i].TotalMilliseconds} ms");
        }

    }
}

/// <summary>A clock whose timers fire <c>early</c> before their due time (as the system timer may, by a fraction of a millisecond):
/// every due time given to a timer is shortened, the clock itself is the inner one.</summary>
internal sealed class EarlyFiringTimeProvider(TimeProvider inner, TimeSpan early) : TimeProvider
{
    public override long TimestampFrequency => inner.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override long GetTimestamp() => inner.GetTimestamp();

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new EarlyTimer(inner.CreateTimer(callback, state, Shorten(dueTime), Shorten(period)), early);

    private TimeSpan Shorten(TimeSpan t) => Early(t, early);

    // Early by up to `early`, and never by more than half the wait (a real timer is late or a little early, never instant).
    internal static TimeSpan Early(TimeSpan t, TimeSpan early) =>
        t == Timeout.InfiniteTimeSpan || t <= TimeSpan.Zero ? t : t - TimeSpan.FromTicks(Math.Min(early.Ticks, t.Ticks / 2));

    private sealed class EarlyTimer(ITimer timer, TimeSpan early) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => timer.Change(Shorten(dueTime), Shorten(period));

        public void Dispose() => timer.Dispose();

        public ValueTask DisposeAsync() => timer.DisposeAsync();

        private TimeSpan Shorten(TimeSpan t) => Early(t, early);
    }
}
