using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Tasks.Dataflow;

using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

/// <summary>
/// Randomized differential test: random flows (depth 1 to 6, random operators and options) over random sources that interleave bursts,
/// stalls that wait on the sink, and an end that is a completion, a fault or a cancellation, against a plain reference model (the same
/// operators written naively over <see cref="IAsyncEnumerable{T}"/> with System.Linq.AsyncEnumerable, no buffers and no batching of
/// wake-ups). The delivered multiset (the sequence, when every operator keeps order) must equal the model's, and no stall may end with
/// items undelivered. Seeded: a failure prints the seed and the flow.
/// </summary>
[TestClass]
public sealed class FlowDifferentialTests
{
    private static readonly TimeSpan StallBound = TimeSpan.FromSeconds(2);

    public TestContext TestContext { get; set; } = null!;

    private enum End
    {
        Complete,
        Fault,
        Cancel,
    }

    [TestMethod]
    [Timeout(300_000)]
    public async Task RandomFlows_MatchTheReferenceModel_AndNeverStall()
    {
        var runs = FlowsTestSupport.Stress ? 3_000 : 200;
        var baseSeed = Environment.GetEnvironmentVariable("FLOWKIT_DIFF_SEED") is { } fixedSeed ? int.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture) : Environment.TickCount;
        var watch = Stopwatch.StartNew();
        var items = 0L;
        for (var run = 0; run < runs; run++)
        {
            var seed = baseSeed + run;
            items += await RunOneAsync(seed);
        }

        var line = $"flows differential: {runs} random flows (depth 1-6), {items:N0} items delivered, mismatches 0, stalls with items undelivered 0, in {watch.ElapsedMilliseconds} ms (base seed {baseSeed})";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
    }

    private static async Task<long> RunOneAsync(int seed)
    {
        var random = new Random(seed);
        var ops = new List<Op>();
        var depth = random.Next(1, 7);
        var expansions = 0;
        for (var i = 0; i < depth; i++)
        {
            var op = Op.Random(random, expansions < 2);
            expansions += op.Expands ? 1 : 0;
            ops.Add(op);
        }

        // The source script: bursts, each followed by a stall that waits until the sink has everything so far; then the end.
        var bursts = new List<int[]>();
        var next = 0;
        for (var b = random.Next(1, 5); b > 0; b--)
        {
            bursts.Add(Enumerable.Range(next, random.Next(0, 24)).ToArray());
            next += bursts[^1].Length;
        }

        var end = random.Next(6) switch { 0 => End.Fault, 1 => End.Cancel, _ => End.Complete };
        var description = $"seed {seed}: source {string.Join("+", bursts.Select(b => b.Length))} items then {end}; flow {string.Join(" -> ", ops)}";
        var ordered = ops.All(o => o.KeepsOrder);

        // The model: the same operators, naively, over an async stream.
        var model = await Model(ops, bursts.SelectMany(b => b)).ToListAsync();
        var perBurst = new List<int>();
        var emitted = new List<int>();
        foreach (var burst in bursts)
        {
            emitted.AddRange(burst);
            perBurst.Add(await Model(ops, emitted).CountAsync());
        }

        var delivered = new List<int>();
        var count = 0;
        var waitingFor = int.MaxValue;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stalledAt = -1;
        var seenAtStall = 0;
        using var cts = new CancellationTokenSource();

        async IAsyncEnumerable<int> Source([EnumeratorCancellation] CancellationToken ct = default)
        {
            for (var b = 0; b < bursts.Count; b++)
            {
                foreach (var x in bursts[b])
                {
                    if (x % 5 == 4)
                    {
                        await Task.Yield();
                    }

                    yield return x;
                }

                // Wait on the sink: everything the model says these items become must arrive while the source waits.
                lock (delivered)
                {
                    waitingFor = perBurst[b];
                    reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    if (count >= waitingFor)
                    {
                        reached.TrySetResult();
                    }
                }

                try
                {
                    await reached.Task.WaitAsync(StallBound + Op.MaxBound(ops), ct).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    stalledAt = b;
                    seenAtStall = Volatile.Read(ref count);
                    break;
                }
            }

            switch (end)
            {
                case End.Fault:
                    throw new InvalidDataException("source fault " + seed);
                case End.Cancel:
                    await cts.CancelAsync().ConfigureAwait(false);
                    ct.ThrowIfCancellationRequested();
                    break;
            }
        }

        void Seen(int x)
        {
            lock (delivered)
            {
                delivered.Add(x);
                if (++count >= waitingFor)
                {
                    reached.TrySetResult();
                }
            }
        }

        var flow = ops.Aggregate(Flow.From(Source()), (f, op) => op.Apply(f));
        Exception? error = null;
        try
        {
            var running = random.Next(2) == 0
                ? flow.ForEachAsync(Seen, cts.Token)
                : PullAsync(flow, Seen, cts.Token);
            await running.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{description}: the run did not end ({count} of {model.Count} items)");
        }
        catch (Exception ex)
        {
            error = ex;
        }

        Assert.AreEqual(-1, stalledAt, $"{description}: STALL after burst {stalledAt}: {seenAtStall} of {(stalledAt >= 0 ? perBurst[stalledAt] : 0)} items had arrived");
        switch (end)
        {
            case End.Complete:
                Assert.IsNull(error, $"{description}: {error}");
                AssertSame(model, delivered, ordered, description);
                break;
            case End.Fault:
                Assert.IsTrue(error is FlowStageException { InnerException: InvalidDataException }, $"{description}: {error}");
                AssertSame(model, delivered, ordered, description);
                break;
            case End.Cancel:
                Assert.IsInstanceOfType<OperationCanceledException>(error, description);
                AssertSame(model, delivered, ordered, description);
                break;
        }

        return delivered.Count;
    }

    private static void AssertSame(List<int> model, List<int> delivered, bool ordered, string description)
    {
        if (ordered)
        {
            CollectionAssert.AreEqual(model, delivered, $"{description}: sequence differs from the model (model {Show(model)}, delivered {Show(delivered)})");
        }
        else
        {
            CollectionAssert.AreEqual(model.Order().ToList(), delivered.Order().ToList(), $"{description}: multiset differs from the model (model {Show(model)}, delivered {Show(delivered)})");
        }
    }

    private static string Show(List<int> items) => items.Count <= 40 ? "[" + string.Join(",", items) + "]" : $"{items.Count} items";

    private static async Task PullAsync(Flow<int> flow, Action<int> seen, CancellationToken ct)
    {
        await foreach (var x in flow.ToAsyncEnumerable(ct))
        {
            seen(x);
        }
    }

    private static IAsyncEnumerable<int> Model(List<Op> ops, IEnumerable<int> input) =>
        ops.Aggregate(ToAsync(input), (s, op) => op.Reference(s));

    private static async IAsyncEnumerable<int> ToAsync(IEnumerable<int> input)
    {
        foreach (var x in input)
        {
            await Task.CompletedTask;
            yield return x;
        }
    }

    /// <summary>One random operator: how to apply it to a flow, and the same operator written naively over an async stream.</summary>
    private sealed record Op(string Name, Func<Flow<int>, Flow<int>> Apply, Func<IAsyncEnumerable<int>, IAsyncEnumerable<int>> Reference, bool KeepsOrder, bool Expands = false, TimeSpan Bound = default)
    {
        public static TimeSpan MaxBound(List<Op> ops) => TimeSpan.FromTicks(ops.Sum(o => o.Bound.Ticks));

        public static Op Random(Random r, bool mayExpand)
        {
            var capacity = r.Next(1, 17);
            var parallelism = r.Next(1, 5);
            var ordered = r.Next(3) != 0;
            var options = new StageOptions { Capacity = capacity, Parallelism = parallelism, Ordered = ordered };
            var keeps = parallelism == 1 || ordered;
            var c = r.Next(1, 100);
            var m = r.Next(2, 5);
            switch (r.Next(mayExpand ? 14 : 12))
            {
                case 0:
                    return new($"Select(x+{c}, fused)", f => f.Select(x => x + c), s => s.Select(x => x + c), true);
                case 1:
                    return new($"Select(x+{c}, {Show(options)})", f => f.Select(x => x + c, options), s => s.Select(x => x + c), keeps);
                case 2:
                    return new($"SelectAsync(x*2, {Show(options)})", f => f.Select(async (x, _) => { if ((x & 3) == 0) { await Task.Yield(); } return x * 2; }, options), s => s.Select(x => x * 2), keeps);
                case 3:
                    return new($"Where(x%{m}!=0, fused)", f => f.Where(x => x % m != 0), s => s.Where(x => x % m != 0), true);
                case 4:
                    return new($"WhereAsync(x%{m}!=1, {Show(options)})", f => f.Where(async (x, _) => { if ((x & 1) == 0) { await Task.Yield(); } return x % m != 1; }, options), s => s.Where(x => x % m != 1), keeps);
                case 5:
                    var delay = TimeSpan.FromMilliseconds(r.Next(1, 10));
                    return new($"Batch({capacity}, {delay.TotalMilliseconds} ms)+flatten", f => f.Batch(capacity, delay).SelectMany(b => b), s => s, true, Bound: delay);
                case 6:
                    return new($"Buffer({capacity})", f => f.Buffer(capacity), s => s, true);
                case 7:
                    return new("RateLimit(5000/s)", f => f.RateLimit(5000, TimeSpan.FromSeconds(1)), s => s, true);
                case 8:
                    return new($"SelectByKey(x%{m}, P{parallelism})", f => f.SelectByKey(x => x % m, async (x, _) => { await Task.Yield(); return x + 1; }, new StageOptions { Capacity = capacity, Parallelism = parallelism }), s => s.Select(x => x + 1), parallelism == 1 && m == 1);
                case 9:
                    return new("Merge(empty)", f => f.Merge(Flow.From(Array.Empty<int>())), s => s, false);
                case 10:
                    return new($"Via(TransformBlock(x-{c}))", f => f.Via(() => Subtract(c, capacity)), s => s.Select(x => x - c), true);
                case 11:
                    return new($"Select(x^{c}, {Show(options)})", f => f.Select(x => x ^ c, options), s => s.Select(x => x ^ c), keeps);
                case 12:
                    return new($"SelectMany([x,x+{c}])", f => f.SelectMany(x => new[] { x, x + c }), s => s.SelectMany(x => new[] { x, x + c }.ToAsyncEnumerable()), true, Expands: true);
                default:
                    // SelectMany keeps its elements' order: one worker only.
                    var single = new StageOptions { Capacity = capacity };
                    return new($"SelectManyAsync([x,-x], cap {capacity})", f => f.SelectMany((x, ct) => Pair(x, ct), single), s => s.SelectMany(x => new[] { x, -x }.ToAsyncEnumerable()), true, Expands: true);
            }
        }

        public override string ToString() => Name;

        private static string Show(StageOptions o)
        {
            var sb = new StringBuilder().Append("cap ").Append(o.Capacity).Append(", P").Append(o.Parallelism);
            if (o.Parallelism > 1)
            {
                sb.Append(o.Ordered ? ", ordered" : ", unordered");
            }

            return sb.ToString();
        }

        private static IPropagatorBlock<int, int> Subtract(int c, int capacity) =>
            new TransformBlock<int, int>(x => x - c, new ExecutionDataflowBlockOptions { BoundedCapacity = capacity });

        private static async IAsyncEnumerable<int> Pair(int x, [EnumeratorCancellation] CancellationToken ct)
        {
            yield return x;
            if ((x & 1) == 0)
            {
                await Task.Yield();
            }

            ct.ThrowIfCancellationRequested();
            yield return -x;
        }
    }
}
