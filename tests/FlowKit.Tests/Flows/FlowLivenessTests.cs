using System.Diagnostics;
using System.Reactive.Linq;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;

using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Flows;

/// <summary>
/// Liveness under stalls: for every source kind x stage x sink, a source emits k items (1 to twice the stage's capacity) and then waits
/// until the sink has seen them all. They must all arrive within the stage's documented bound (maxDelay or the pacing for the timed
/// stages, promptly for the rest); a stall (the source's wait timing out with items undelivered) is a failure. The catalogue below is
/// the one list of sources, stages and sinks; every combination runs on the real clock, the timed stages also on virtual time.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class FlowLivenessTests
{
    private const int Capacity = 8;

    // What "promptly" may take on two loaded cores before it counts as a stall (measured latencies are reported, not asserted tightly).
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan BatchDelay = TimeSpan.FromMilliseconds(20);

    private static ThreadExecutor? threads;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Start(TestContext context)
    {
        _ = context;
        threads = new ThreadExecutor(2, "liveness");
    }

    [ClassCleanup]
    public static async Task Stop()
    {
        if (threads is not null)
        {
            await threads.DisposeAsync();
        }
    }

    /// <summary>A source kind: builds a flow that emits <c>0..k-1</c>, then calls <c>stall</c> (which returns once the sink has seen
    /// everything, or the bound passed), then completes. <c>Producer</c> is a task to await afterwards (null if none).</summary>
    internal sealed record SourceKind(string Name, Func<int, Func<Task>, (Flow<int> Flow, Func<Task>? Start)> Create)
    {
        public override string ToString() => Name;
    }

    /// <summary>A stage: <c>Apply</c> builds it (values kept, so the sink's multiset is checkable); <c>During(k)</c> is how many items must
    /// arrive while the source stalls and <c>Total(k)</c> in all; <c>Bound(k)</c> is its documented delivery bound beyond "promptly".</summary>
    internal sealed record StageKind(
        string Name,
        Func<Flow<int>, TimeProvider, Flow<int>> Apply,
        Func<int, int>? During = null,
        Func<int, int>? Total = null,
        Func<int, TimeSpan>? Bound = null,
        bool Timed = false)
    {
        public int MustArrive(int k) => During?.Invoke(k) ?? Expected(k);

        public int Expected(int k) => Total?.Invoke(k) ?? k;

        public TimeSpan BoundFor(int k) => Bound?.Invoke(k) ?? TimeSpan.Zero;

        public override string ToString() => Name;
    }

    /// <summary>A sink: runs the flow, calling <c>seen</c> for every item it receives (<c>Copies</c> times per item for a broadcast).</summary>
    internal sealed record SinkKind(string Name, Func<Flow<int>, Action<int>, Task> Run, int Copies = 1)
    {
        public override string ToString() => Name;
    }

    internal static IReadOnlyList<SourceKind> Sources { get; } =
    [
        new("From(IEnumerable)", (k, stall) => (Flow.From(BlockingSource(k, stall)), null)),
        new("From(IAsyncEnumerable)", (k, stall) => (Flow.From(AsyncSource(k, stall)), null)),
        new("From(ChannelReader)", (k, stall) =>
        {
            var channel = Channel.CreateBounded<int>(Capacity);
            return (Flow.From(channel.Reader), async () =>
            {
                for (var i = 0; i < k; i++)
                {
                    await channel.Writer.WriteAsync(i);
                }

                await stall();
                channel.Writer.Complete();
            });
        }),
        new("From(ISourceBlock)", (k, stall) =>
        {
            var block = new BufferBlock<int>(new DataflowBlockOptions { BoundedCapacity = Capacity });
            return (Flow.From(block), async () =>
            {
                for (var i = 0; i < k; i++)
                {
                    await block.SendAsync(i);
                }

                await stall();
                block.Complete();
            });
        }),
        ObservableSource(Overflow.Wait, 4),
        ObservableSource(Overflow.DropOldest, 4096),
        ObservableSource(Overflow.DropNewest, 4096),
        ObservableSource(Overflow.Fail, 4096),
        new("From(AsyncQueue)", (k, stall) =>
        {
            var queue = new AsyncQueue<int>(Capacity);
            return (Flow.From(queue), async () =>
            {
                for (var i = 0; i < k; i++)
                {
                    await queue.PutAsync(i);
                }

                await stall();
                queue.Shutdown();
            });
        }),
        new("From(ReceiveChannel)", (k, stall) =>
        {
            var (send, receive) = MemoryChannel.Open<int>(4);
            return (Flow.From(receive), async () =>
            {
                using (send)
                {
                    for (var i = 0; i < k; i++)
                    {
                        await send.SendAsync(i);
                    }

                    await stall();
                }
            });
        }),
    ];

    internal static IReadOnlyList<StageKind> Stages { get; } =
    [
        new("none", (f, _) => f),
        new("Select(sync, fused)", (f, _) => f.Select(x => x)),
        new("Select(sync, Capacity)", (f, _) => f.Select(x => x, new StageOptions { Capacity = Capacity })),
        new("Select(async, completed)", (f, _) => f.Select((x, _) => new ValueTask<int>(x), new StageOptions { Capacity = Capacity })),
        new("Select(async, yielding)", (f, _) => f.Select(async (x, _) => { await Task.Yield(); return x; }, new StageOptions { Capacity = Capacity })),
        new("Select(async, P4, ordered)", (f, _) => f.Select(async (x, _) => { await Task.Yield(); return x; }, new StageOptions { Capacity = Capacity, Parallelism = 4 })),
        new("Select(async, P4, unordered)", (f, _) => f.Select(async (x, _) => { await Task.Yield(); return x; }, new StageOptions { Capacity = Capacity, Parallelism = 4, Ordered = false })),
        new("Select(sync, P2, ordered)", (f, _) => f.Select(x => x, new StageOptions { Capacity = Capacity, Parallelism = 2 })),
        new("Where(sync)", (f, _) => f.Where(x => x % 3 != 1), During: Kept, Total: Kept),
        new("Where(async)", (f, _) => f.Where((x, _) => new ValueTask<bool>(x % 3 != 1), new StageOptions { Capacity = Capacity }), During: Kept, Total: Kept),
        new("Where(async, P3, unordered)", (f, _) => f.Where(async (x, _) => { await Task.Yield(); return x % 3 != 1; }, new StageOptions { Capacity = Capacity, Parallelism = 3, Ordered = false }), During: Kept, Total: Kept),
        new("SelectMany(sync)", (f, _) => f.SelectMany(x => new[] { x, x }), Total: k => 2 * k),
        new("SelectMany(sync, Capacity)", (f, _) => f.SelectMany(x => new[] { x, x }, new StageOptions { Capacity = Capacity }), Total: k => 2 * k),
        new("SelectMany(async)", (f, _) => f.SelectMany((x, ct) => Twice(x, ct), new StageOptions { Capacity = Capacity }), Total: k => 2 * k),

        // Size-only: full batches go out at once, the last partial one only at completion (its documented rule).
        new("Batch(size)", (f, _) => f.Batch(Capacity).SelectMany(b => b), During: k => k / Capacity * Capacity),
        new("Batch(size, maxDelay)", (f, t) => f.Batch(Capacity, BatchDelay, t).SelectMany(b => b), Bound: _ => BatchDelay, Timed: true),
        new("Batch(size, maxDelay) after async", (f, t) => f.Select(async (x, _) => { await Task.Yield(); return x; }, new StageOptions { Capacity = Capacity }).Batch(Capacity, BatchDelay, t).SelectMany(b => b), Bound: _ => BatchDelay, Timed: true),
        new("Buffer", (f, _) => f.Buffer(Capacity)),
        new("Buffer(1)", (f, _) => f.Buffer(1)),
        new("RateLimit(fast)", (f, t) => f.RateLimit(10_000, TimeSpan.FromSeconds(1), t)),
        new("RateLimit(4 per 20 ms)", (f, t) => f.RateLimit(4, TimeSpan.FromMilliseconds(20), t), Bound: k => TimeSpan.FromMilliseconds(Math.Max(0, k - 4) * 5), Timed: true),
        new("SelectByKey", (f, _) => f.SelectByKey(x => x % 3, async (x, _) => { await Task.Yield(); return x; }, new StageOptions { Capacity = Capacity, Parallelism = 2 })),
        new("Merge", (f, _) => f.Merge(Flow.From(Array.Empty<int>()))),
        new("Merge(async other)", (f, _) => Flow.Merge(f, Flow.From(FlowsTestSupport.RangeAsync(1000, 3))), Total: k => k + 3),
        new("Via(TransformBlock)", (f, _) => f.Via(() => new TransformBlock<int, int>(x => x, new ExecutionDataflowBlockOptions { BoundedCapacity = Capacity }))),
        new("Via(TransformBlock, MDOP 2)", (f, _) => f.Via(() => new TransformBlock<int, int>(async x => { await Task.Yield(); return x; }, new ExecutionDataflowBlockOptions { BoundedCapacity = Capacity, MaxDegreeOfParallelism = 2 }))),
        new("SelectOn(ThreadExecutor)", (f, _) => f.SelectOn(threads!, (x, _) => x, new StageOptions { Capacity = Capacity, Parallelism = 2 })),
        new("Select+Buffer+Select chain", (f, _) => f.Select(async (x, _) => { await Task.Yield(); return x; }, new StageOptions { Capacity = Capacity }).Buffer(Capacity).Select(x => x, new StageOptions { Capacity = Capacity })),
    ];

    internal static IReadOnlyList<SinkKind> Sinks { get; } =
    [
        new("ForEachAsync", (f, seen) => f.ForEachAsync(seen)),
        new("ForEachAsync(async, P2)", (f, seen) => f.ForEachAsync((x, _) => { seen(x); return ValueTask.CompletedTask; }, new StageOptions { Parallelism = 2, Capacity = Capacity })),
        new("ToListAsync", (f, seen) => f.Select(x => { seen(x); return x; }).ToListAsync()),
        new("ToAsyncEnumerable", async (f, seen) =>
        {
            await foreach (var x in f.ToAsyncEnumerable())
            {
                seen(x);
            }
        }),
        new("ToObservable", (f, seen) =>
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var subscription = f.ToObservable().Subscribe(seen, e => done.TrySetException(e), () => done.TrySetResult());
            return done.Task.ContinueWith(t => { subscription.Dispose(); return t; }, TaskScheduler.Default).Unwrap();
        }),
        new("ToChannelAsync", async (f, seen) =>
        {
            var channel = Channel.CreateBounded<int>(Capacity);
            var reading = Task.Run(async () =>
            {
                await foreach (var x in channel.Reader.ReadAllAsync())
                {
                    seen(x);
                }
            });
            try
            {
                await f.ToChannelAsync(channel.Writer);
            }
            finally
            {
                channel.Writer.TryComplete();
                await reading;
            }
        }),
        new("ToChannel(nursery)", (f, seen) => Nursery.RunAsync(async nursery =>
        {
            await foreach (var x in f.ToChannel(nursery, Capacity).ReadAllAsync())
            {
                seen(x);
            }
        })),
        new("LinkToAsync", async (f, seen) =>
        {
            var block = new ActionBlock<int>(seen, new ExecutionDataflowBlockOptions { BoundedCapacity = Capacity });
            await f.LinkToAsync(block);
            await block.Completion;
        }),
        new("BroadcastAsync(2 sinks)", (f, seen) => f.BroadcastAsync(
            [
                new BroadcastSink<int>("a", (g, ct) => g.ForEachAsync(seen, ct)) { Capacity = Capacity },
                new BroadcastSink<int>("b", (g, ct) => g.ForEachAsync((x, _) => { seen(x); return ValueTask.CompletedTask; }, ct)) { Capacity = Capacity },
            ]), Copies: 2),
    ];

    /// <summary>Every source x stage x sink on the real clock, each with a fresh random k; several passes.</summary>
    [TestMethod]
    [Timeout(600_000)]
    public async Task EverySourceStageAndSink_RealClock_AllItemsArriveWhileTheSourceWaitsForTheSink()
    {
        var passes = FlowsTestSupport.Stress ? 10 : 1;
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var stats = new Stats();
        var watch = Stopwatch.StartNew();
        for (var pass = 0; pass < passes; pass++)
        {
            foreach (var source in Sources)
            {
                foreach (var stage in Stages)
                {
                    foreach (var sink in Sinks)
                    {
                        var k = random.Next(1, 2 * Capacity + 1);
                        await RunOnceAsync(source, stage, sink, k, TimeProvider.System, stats, $"seed {seed} pass {pass}");
                    }
                }
            }
        }

        Report($"liveness, real clock: {Sources.Count} sources x {Stages.Count} stages x {Sinks.Count} sinks = {Sources.Count * Stages.Count * Sinks.Count} combinations x {passes} pass(es)", stats, watch);
    }

    /// <summary>The stages that hold items back (batched wake-ups, thresholds, timers) under many more iterations on the real clock: a race
    /// that shows one time in a thousand must show here.</summary>
    [TestMethod]
    [Timeout(600_000)]
    public async Task StagesThatHoldItems_RealClock_ManyIterations()
    {
        var iterations = FlowsTestSupport.Stress ? 3_000 : 150;
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var stats = new Stats();
        var watch = Stopwatch.StartNew();
        string[] sourceNames = ["From(IAsyncEnumerable)", "From(ChannelReader)", "From(AsyncQueue)"];
        string[] stageNames = ["Batch(size, maxDelay)", "Batch(size, maxDelay) after async", "Select(async, yielding)", "Buffer", "Select+Buffer+Select chain", "Select(async, P4, ordered)"];
        var sources = Sources.Where(s => sourceNames.Contains(s.Name)).ToList();
        var stages = Stages.Where(s => stageNames.Contains(s.Name)).ToList();
        Assert.AreEqual(sourceNames.Length, sources.Count);
        Assert.AreEqual(stageNames.Length, stages.Count);
        for (var i = 0; i < iterations; i++)
        {
            foreach (var source in sources)
            {
                foreach (var stage in stages)
                {
                    var k = random.Next(1, 2 * Capacity + 1);
                    await RunOnceAsync(source, stage, Sinks[0], k, TimeProvider.System, stats, $"seed {seed} iteration {i}");
                }
            }
        }

        Report($"liveness, real clock, stages that hold items: {sources.Count} sources x {stages.Count} stages x ForEachAsync x {iterations} iterations", stats, watch);
    }

    /// <summary>The timed stages on virtual time: every source, two sinks; the items must arrive by the stage's bound in virtual time.</summary>
    [TestMethod]
    [Timeout(120_000)]
    public async Task TimedStages_VirtualTime_AllItemsArriveWithinTheBound()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var runs = 0;
        var worst = TimeSpan.Zero;
        var watch = Stopwatch.StartNew();
        var repeats = FlowsTestSupport.Stress ? 20 : 2;
        // Not the blocking synchronous source: it holds a pool thread while it waits, and on two cores the pool adds threads slowly, so
        // virtual time would race ahead of a pipeline that has no thread yet (it is covered on the real clock).
        foreach (var source in Sources.Where(s => s.Name != "From(IEnumerable)"))
        {
            foreach (var stage in Stages.Where(s => s.Timed))
            {
                foreach (var sink in new[] { Sinks[0], Sinks[3] })
                {
                    for (var r = 0; r < repeats; r++)
                    {
                        var k = random.Next(1, 2 * Capacity + 1);
                        var fake = new FakeTimeProvider();
                        var clock = new TimerTrackingTimeProvider(fake);
                        var label = $"{source} | {stage} | {sink} | k {k} | virtual | seed {seed}";
                        var seen = 0;
                        var mustArrive = stage.MustArrive(k) * sink.Copies;
                        var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        var lastEmittedAt = DateTimeOffset.MinValue;
                        var seenAt = DateTimeOffset.MinValue;
                        var stalledWith = -1;
                        var (flow, start) = source.Create(k, async () =>
                        {
                            lastEmittedAt = fake.GetUtcNow();
                            stalled.TrySetResult();
                            try
                            {
                                await allSeen.Task.WaitAsync(Prompt);
                            }
                            catch (TimeoutException)
                            {
                                stalledWith = Volatile.Read(ref seen);
                            }
                        });
                        var running = sink.Run(stage.Apply(flow, clock), _ =>
                        {
                            if (Interlocked.Increment(ref seen) == mustArrive)
                            {
                                seenAt = fake.GetUtcNow();
                                allSeen.TrySetResult();
                            }
                        });
                        var producing = start?.Invoke() ?? Task.CompletedTask;
                        if (mustArrive == 0)
                        {
                            allSeen.TrySetResult();
                        }

                        // An auto-jumping clock: whenever a stage has armed a timer, jump to its instant (a paced stage needs that before
                        // the source even stalls; a batch only once the source stalls, so that it is the stall the batch must outlast).
                        // The clock jumps while items may still be on their way to the batch (behind an async stage, or a source's own
                        // buffer), so they can be split over several batches, each out within maxDelay of its first item: the bound is one
                        // maxDelay per possible batch (a stall is unbounded, and fails).
                        var batches = stage.Name.EndsWith("after async", StringComparison.Ordinal) ? k : (k / Capacity) + 2;
                        var limit = (stage.Name.StartsWith("Batch", StringComparison.Ordinal) ? stage.BoundFor(k) * batches : stage.BoundFor(k)) + TimeSpan.FromMilliseconds(5);
                        var paced = stage.Name.StartsWith("RateLimit", StringComparison.Ordinal);
                        var real = Stopwatch.StartNew();
                        while (!allSeen.Task.IsCompleted && !running.IsCompleted)
                        {
                            Assert.IsTrue(real.Elapsed < Prompt + Prompt, $"{label}: {Volatile.Read(ref seen)} of {mustArrive} items, no progress for {real.ElapsedMilliseconds} real ms at {(fake.GetUtcNow() - fake.Start).TotalMilliseconds} virtual ms");
                            if (paced || stalled.Task.IsCompleted)
                            {
                                clock.AdvanceToNextDue();
                            }

                            await FlowsTestSupport.YieldFairlyAsync();
                        }

                        await running.WaitAsync(TimeSpan.FromSeconds(30));
                        await producing.WaitAsync(TimeSpan.FromSeconds(30));
                        Assert.AreEqual(-1, stalledWith, $"{label}: STALL: {stalledWith} of {mustArrive} items when the source's wait ran out ({Prompt.TotalSeconds} s real time) at {(fake.GetUtcNow() - fake.Start).TotalMilliseconds} virtual ms, pending timer {clock.NextDue()}");
                        Assert.IsTrue(allSeen.Task.IsCompletedSuccessfully, $"{label}: {seen} of {mustArrive} items arrived before the source's wait ended");
                        if (mustArrive > 0)
                        {
                            var late = seenAt - lastEmittedAt;
                            worst = late > worst ? late : worst;
                            Assert.IsTrue(late <= limit, $"{label}: arrived {late.TotalMilliseconds} virtual ms after the last item");
                        }

                        runs++;
                    }
                }
            }
        }

        var line = $"liveness, virtual time: {runs} runs of the timed stages (every source, 2 sinks), worst {worst.TotalMilliseconds} virtual ms after the last item (bound + 5 ms), stalls 0, in {watch.ElapsedMilliseconds} ms";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
    }

    /// <summary>SelectOn a process executor (a few runs: each needs the test worker processes).</summary>
    [TestMethod]
    [Timeout(120_000)]
    public async Task SelectOnProcessExecutor_RealClock_AllItemsArrive()
    {
        await using var pool = ExecutorsTestWorkers.Pool(2);
        var stage = new StageKind("SelectOn(ProcessExecutor)", (f, _) => f.Select(x => (long)x).SelectOn(pool, TestWork.Square, new StageOptions { Capacity = Capacity, Parallelism = 2 }).Select(v => (int)Math.Round(Math.Sqrt(v))));
        var stats = new Stats();
        var watch = Stopwatch.StartNew();
        var random = new Random(5);
        foreach (var source in Sources.Where(s => s.Name is "From(IAsyncEnumerable)" or "From(ChannelReader)"))
        {
            foreach (var sink in new[] { Sinks[0], Sinks[3] })
            {
                for (var i = 0; i < 3; i++)
                {
                    await RunOnceAsync(source, stage, sink, random.Next(1, 2 * Capacity + 1), TimeProvider.System, stats, "process");
                }
            }
        }

        Report("liveness, SelectOn(ProcessExecutor): 2 sources x 2 sinks x 3", stats, watch);
    }

    private static int Kept(int k) => Enumerable.Range(0, k).Count(x => x % 3 != 1);

    private static async IAsyncEnumerable<int> Twice(int x, [EnumeratorCancellation] CancellationToken ct)
    {
        yield return x;
        await Task.Yield();
        ct.ThrowIfCancellationRequested();
        yield return x;
    }

    private static IEnumerable<int> BlockingSource(int k, Func<Task> stall)
    {
        for (var i = 0; i < k; i++)
        {
            yield return i;
        }

        // A synchronous source can only wait by blocking its thread (a socket read, a file on a slow disk).
        stall().GetAwaiter().GetResult();
    }

    private static async IAsyncEnumerable<int> AsyncSource(int k, Func<Task> stall)
    {
        for (var i = 0; i < k; i++)
        {
            yield return i;
        }

        await stall();
    }

    private static SourceKind ObservableSource(Overflow overflow, int capacity) => new($"From(IObservable, {overflow})", (k, stall) =>
        (Flow.From(
            Observable.Create<int>(async (observer, ct) =>
            {
                for (var i = 0; i < k; i++)
                {
                    observer.OnNext(i);
                }

                await stall();
                observer.OnCompleted();
            }),
            capacity,
            overflow), null));

    private static async Task RunOnceAsync(SourceKind source, StageKind stage, SinkKind sink, int k, TimeProvider time, Stats stats, string context)
    {
        var label = $"{source} | {stage} | {sink} | k {k} | {context}";
        var mustArrive = stage.MustArrive(k) * sink.Copies;
        var seen = new List<int>();
        var seenCount = 0;
        var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (mustArrive == 0)
        {
            allSeen.TrySetResult();
        }

        var stalledWithItemsMissing = false;
        var seenAtStall = 0;
        long lastEmitted = 0;
        TimeSpan latency = TimeSpan.Zero;
        var bound = stage.BoundFor(k) + Prompt;
        var (flow, start) = source.Create(k, async () =>
        {
            lastEmitted = Stopwatch.GetTimestamp();
            try
            {
                await allSeen.Task.WaitAsync(bound).ConfigureAwait(false);
                latency = allSeen.Task.IsCompleted && mustArrive > 0 ? Stopwatch.GetElapsedTime(lastEmitted) : TimeSpan.Zero;
            }
            catch (TimeoutException)
            {
                seenAtStall = Volatile.Read(ref seenCount);
                stalledWithItemsMissing = true;
            }
        });
        var running = sink.Run(stage.Apply(flow, time), x =>
        {
            lock (seen)
            {
                seen.Add(x);
            }

            if (Interlocked.Increment(ref seenCount) == mustArrive)
            {
                allSeen.TrySetResult();
            }
        });
        var producing = start is null ? Task.CompletedTask : Task.Run(start);
        try
        {
            await Task.WhenAll(running, producing).WaitAsync(bound + TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{label}: the run did not end ({Volatile.Read(ref seenCount)} of {stage.Expected(k) * sink.Copies} items seen)");
        }

        stats.Add(latency, stalledWithItemsMissing);
        Assert.IsFalse(stalledWithItemsMissing, $"{label}: STALL: {seenAtStall} of {mustArrive} items had arrived when the source's wait for the sink ({bound.TotalMilliseconds} ms) ran out");
        Assert.IsTrue(latency <= bound, $"{label}: delivered {latency.TotalMilliseconds} ms after the last item");
        var expected = Enumerable.Repeat(Model(stage, k), sink.Copies).SelectMany(x => x).Order().ToList();
        var actual = seen.Order().ToList();
        CollectionAssert.AreEqual(expected, actual, $"{label}: delivered multiset differs from the model");
    }

    private static List<int> Model(StageKind stage, int k)
    {
        var items = Enumerable.Range(0, k);
        if (stage.Name.StartsWith("Where", StringComparison.Ordinal))
        {
            items = items.Where(x => x % 3 != 1);
        }
        else if (stage.Name.StartsWith("SelectMany", StringComparison.Ordinal))
        {
            items = items.SelectMany(x => new[] { x, x });
        }
        else if (stage.Name == "Merge(async other)")
        {
            items = items.Concat(Enumerable.Range(1000, 3));
        }

        return items.Order().ToList();
    }

    private void Report(string what, Stats stats, Stopwatch watch)
    {
        var line = $"{what}: {stats.Runs} runs, stalls with items undelivered {stats.Stalls}, latency after the last item p50 {stats.Percentile(0.5):F2} ms, " +
                   $"p99 {stats.Percentile(0.99):F2} ms, max {stats.Percentile(1):F2} ms, in {watch.ElapsedMilliseconds} ms";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
    }

    private sealed class Stats
    {
        private readonly List<double> _latencies = [];

        public int Runs { get; private set; }

        public int Stalls { get; private set; }

        public void Add(TimeSpan latency, bool stalled)
        {
            Runs++;
            Stalls += stalled ? 1 : 0;
            _latencies.Add(latency.TotalMilliseconds);
        }

        public double Percentile(double p)
        {
            if (_latencies.Count == 0)
            {
                return 0;
            }

            var sorted = _latencies.Order().ToList();
            return sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
        }
    }
}

/// <summary>A fake clock's view of the timers armed on it: the earliest instant a pending timer is due, so that a test can jump there.</summary>
internal sealed class TimerTrackingTimeProvider(FakeTimeProvider fake) : TimeProvider
{
    private readonly List<Tracked> _timers = [];

    // Held while a timer is armed and while the test advances the clock: a jump never lands between a stage computing a due time and
    // the timer taking it (that would move the clock past an instant the timer does not know yet).
    private readonly object _advanceGate = new();

    public override long TimestampFrequency => fake.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

    public override long GetTimestamp() => fake.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (_advanceGate)
        {
            return CreateTimerLocked(callback, state, dueTime, period);
        }
    }

    /// <summary>Jumps the fake clock to the earliest instant a pending timer is due (firing it); false if no timer is pending.</summary>
    public bool AdvanceToNextDue()
    {
        lock (_advanceGate)
        {
            if (NextDue() is not { } due)
            {
                return false;
            }

            var step = due - fake.GetUtcNow();
            fake.Advance(step > TimeSpan.Zero ? step : TimeSpan.Zero);
            return true;
        }
    }

    private Tracked CreateTimerLocked(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var tracked = new Tracked(this);
        tracked.Inner = fake.CreateTimer(
            s =>
            {
                tracked.Fired();
                callback(s);
            },
            state,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
        tracked.Change(dueTime, period);
        lock (_timers)
        {
            _timers.Add(tracked);
        }

        return tracked;
    }

    /// <summary>The earliest due instant of a pending timer, or null.</summary>
    public DateTimeOffset? NextDue()
    {
        lock (_timers)
        {
            _timers.RemoveAll(t => t.Disposed);
            return _timers.Where(t => t.Due is not null).Select(t => t.Due!.Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min() is var min && min != DateTimeOffset.MaxValue ? min : null;
        }
    }

    private sealed class Tracked(TimerTrackingTimeProvider owner) : ITimer
    {
        private readonly object _gate = new();
        private DateTimeOffset? _due;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public ITimer Inner { get; set; } = null!;

        public bool Disposed { get; private set; }

        public DateTimeOffset? Due
        {
            get
            {
                lock (_gate)
                {
                    return _due;
                }
            }
        }

        public void Fired()
        {
            lock (_gate)
            {
                // Only the arming that is due has fired: a Change that raced this fire (armed again for later) stays pending.
                var now = owner.GetUtcNow();
                if (_due is { } due && due <= now)
                {
                    _due = _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : now + _period;
                }
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._advanceGate)
            {
                lock (_gate)
                {
                    _period = period;
                    _due = dueTime == Timeout.InfiniteTimeSpan ? null : owner.GetUtcNow() + dueTime;
                }

                return Inner.Change(dueTime, period);
            }
        }

        public void Dispose()
        {
            Disposed = true;
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
