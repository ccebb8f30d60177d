using System.Diagnostics;
using System.Reactive.Linq;

using FlowKit.Flows;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

/// <summary>Reliability families 3 (bounded memory under a slow consumer), 22 (observable grammar) and 29 (leak sweep) as they apply to flows.</summary>
[TestClass]
[DoNotParallelize]
public sealed class FlowReliabilityTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120_000)]
    public async Task SlowConsumer_BuffersStayBoundedAndMemoryStaysFlat()
    {
        var items = FlowsTestSupport.Stress ? 1_000_000 : 200_000;
        var name = "slow-" + Guid.NewGuid().ToString("N");
        FlowRun? run = null;
        void OnStarting(FlowRun r)
        {
            if (r.FlowName == name)
            {
                run = r;
            }
        }

        FlowRun.Starting += OnStarting;
        var maxDepth = 0;
        long baseline = 0, peak = 0;
        var seen = 0;
        var watch = Stopwatch.StartNew();
        try
        {
            await Flow.From(Enumerable.Range(0, items)).WithFlowName(name)
                .Select(x => x + 1)
                .Select((x, _) => new ValueTask<int>(x), new StageOptions { Capacity = 64 })
                .Buffer(64)
                .ForEachAsync(async (_, _) =>
                {
                    // The consumer is the slow end: it yields to the scheduler on every item while the producer never waits on its own.
                    await Task.Yield();
                    if (++seen % 10_000 == 0)
                    {
                        maxDepth = Math.Max(maxDepth, run!.Buffers.Max(b => b.Count()));
                        var memory = GC.GetTotalMemory(forceFullCollection: true);
                        if (seen == 20_000)
                        {
                            baseline = memory;
                        }

                        peak = Math.Max(peak, memory);
                    }
                });
        }
        finally
        {
            FlowRun.Starting -= OnStarting;
        }

        var growthMb = (peak - baseline) / (1024.0 * 1024.0);
        var line = $"flows family 3: {items:N0} items through 2 buffers of 64 with a slow consumer in {watch.ElapsedMilliseconds} ms: max depth {maxDepth} (limit 64), " +
                   $"retained managed growth after warm-up {growthMb:F2} MB";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
        Assert.IsTrue(maxDepth <= 64, line);
        Assert.IsTrue(growthMb <= 5, line);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ToObservable_Grammar_OnNextSerialThenOneTerminalThenNothing()
    {
        var random = new Random(1234);
        var events = 0;
        var pipelines = FlowsTestSupport.Stress ? 2_000 : 300;
        for (var i = 0; i < pipelines; i++)
        {
            var count = random.Next(0, 50);
            var failAt = random.Next(0, 4) == 0 ? random.Next(0, Math.Max(1, count)) : -1;
            var parallelism = random.Next(1, 4);
            var flow = Flow.From(Enumerable.Range(0, count))
                .Select(async (x, _) =>
                {
                    await Task.Yield();
                    return x == failAt ? throw new FormatException() : x;
                }, new StageOptions { Parallelism = parallelism, Ordered = random.Next(2) == 0 });
            var checker = new GrammarChecker();
            using (flow.ToObservable().Subscribe(checker))
            {
                await checker.Terminated.Task;
            }

            Assert.AreEqual(0, checker.Violations, $"pipeline {i}");
            Assert.AreEqual(failAt >= 0 && failAt < count, checker.Failed, $"pipeline {i}");
            events += checker.Events;
        }

        // "never": a flow that never ends stays silent after dispose.
        var never = new GrammarChecker();
        var subscription = Flow.From(new FlowsTestSupport.EndlessSource()).Buffer(2).ToObservable().Subscribe(never);
        await FlowsTestSupport.WaitUntilAsync(() => never.Events > 10);
        subscription.Dispose();
        Assert.AreEqual(0, never.Violations);

        var line = $"flows family 22: {pipelines} pipelines, {events} events, grammar violations 0";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task LeakSweep_FailuresAndCancellations_LeaveNoUnobservedTaskAndNoLiveRun()
    {
        var unobserved = 0;
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => Interlocked.Increment(ref unobserved);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        var tag = "leak-" + Guid.NewGuid().ToString("N");
        try
        {
            for (var i = 0; i < 300; i++)
            {
                using var cts = new CancellationTokenSource();
                var flow = Flow.From(new FlowsTestSupport.EndlessSource()).WithFlowName(tag)
                    .Select((x, _) => new ValueTask<int>(x), new StageOptions { Parallelism = 2, Capacity = 2 })
                    .Select(x => i % 2 == 0 && x == 50 ? throw new FormatException() : x)
                    .Batch(4, TimeSpan.FromMinutes(1))
                    .SelectByKey(b => b.Length, (b, _) => new ValueTask<int>(b.Length), new StageOptions { Parallelism = 2 });
                var seen = 0;
                var run = flow.ForEachAsync(
                    _ =>
                    {
                        if (++seen == 40)
                        {
                            cts.Cancel();
                        }
                    },
                    cts.Token);
                await Assert.ThrowsAsync<Exception>(() => run);
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }

        var live = FlowRun.Live.Count(r => r.FlowName == tag);
        var line = $"flows family 29: 300 failed or cancelled runs, unobserved task exceptions {unobserved}, live runs left {live}";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
        Assert.AreEqual(0, unobserved);
        Assert.AreEqual(0, live);
    }

    private sealed class GrammarChecker : IObserver<int>
    {
        private int _inside;
        private bool _terminated;

        public TaskCompletionSource Terminated { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Violations { get; private set; }

        public int Events { get; private set; }

        public bool Failed { get; private set; }

        public void OnNext(int value) => Check(() => { });

        public void OnError(Exception error) => Check(() =>
        {
            Failed = true;
            _terminated = true;
            Terminated.TrySetResult();
        });

        public void OnCompleted() => Check(() =>
        {
            _terminated = true;
            Terminated.TrySetResult();
        });

        private void Check(Action body)
        {
            if (Interlocked.Exchange(ref _inside, 1) == 1 || _terminated)
            {
                Violations++;
            }

            Events++;
            body();
            Volatile.Write(ref _inside, 0);
        }
    }
}
