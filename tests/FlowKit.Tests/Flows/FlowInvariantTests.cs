using System.Diagnostics;

using FlowKit.Flows;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

/// <summary>
/// Thousands of cheap random flows (random stages, parallelism, capacities, batch sizes, failures and cancellation points) checked against a
/// sequential model: ordered flows keep input order, unordered ones give a permutation, nothing is lost or duplicated unless a policy says so,
/// and the items buffered at once never exceed the sum of the configured capacities.
/// </summary>
[TestClass]
public sealed class FlowInvariantTests
{
    private static int Runs => FlowsTestSupport.Stress ? 30_000 : 3_000;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120_000)]
    public async Task RandomFlows_MatchTheSequentialModel()
    {
        var seed = Environment.TickCount;
        TestContext.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int ordered = 0, unordered = 0, failed = 0, cancelled = 0, maxBuffered = 0;
        var watch = Stopwatch.StartNew();
        for (var run = 0; run < Runs; run++)
        {
            var runSeed = random.Next();
            var outcome = await RunOneAsync(new Random(runSeed), runSeed);
            switch (outcome.Kind)
            {
                case "ordered": ordered++; break;
                case "unordered": unordered++; break;
                case "failed": failed++; break;
                default: cancelled++; break;
            }

            maxBuffered = Math.Max(maxBuffered, outcome.MaxBuffered);
        }

        var line = $"flows invariants: {Runs} runs in {watch.ElapsedMilliseconds} ms (seed {seed}): ordered {ordered}, unordered {unordered}, " +
                   $"failed as injected {failed}, cancelled {cancelled}, lost 0, duplicated 0, max buffered {maxBuffered} (never above the sum of capacities)";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
    }

    private static async Task<(string Kind, int MaxBuffered)> RunOneAsync(Random random, int seed)
    {
        var count = random.Next(0, 150);
        var input = Enumerable.Range(0, count).Select(i => (long)i).ToList();
        var name = "inv-" + seed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Flow<long> flow = Flow.From(input).WithFlowName(name);
        var model = input;
        var keepsOrder = true;
        var stages = random.Next(1, 6);
        var failAt = random.Next(0, 6) == 0 ? random.Next(0, stages) : -1;
        long? failValue = null;
        var description = new List<string>();
        for (var s = 0; s < stages; s++)
        {
            if (s == failAt && model.Count > 0)
            {
                var bad = model[random.Next(model.Count)];
                failValue = bad;
                flow = flow.Select(x => x == bad ? throw new InvalidDataException("injected") : x).Named("injected");
                description.Add($"fail at {bad}");
            }

            var capacity = random.Next(1, 9);
            var parallelism = random.Next(1, 5);
            switch (random.Next(0, 11))
            {
                case 0:
                    flow = flow.Select(x => x + 1);
                    model = model.Select(x => x + 1).ToList();
                    description.Add("Select+1");
                    break;
                case 1:
                {
                    var isOrdered = random.Next(2) == 0;
                    flow = flow.Select(
                        async (x, _) =>
                        {
                            if ((x & 3) == 0)
                            {
                                await Task.Yield();
                            }

                            return x * 2;
                        },
                        new StageOptions { Parallelism = parallelism, Capacity = capacity, Ordered = isOrdered });
                    model = model.Select(x => x * 2).ToList();
                    keepsOrder &= isOrdered || parallelism == 1;
                    description.Add($"SelectAsync*2 p{parallelism} c{capacity} {(isOrdered ? "ordered" : "unordered")}");
                    break;
                }

                case 2:
                {
                    var m = random.Next(2, 5);
                    flow = flow.Where(x => x % m != 0);
                    model = model.Where(x => x % m != 0).ToList();
                    description.Add($"Where%{m}");
                    break;
                }

                case 3:
                {
                    var q = random.Next(3, 7);
                    flow = flow.Select(x => x % q == 1 ? throw new FormatException() : x, new StageOptions { OnError = FlowErrorPolicy.Skip, Parallelism = parallelism, Capacity = capacity });
                    model = model.Where(x => x % q != 1).ToList();
                    description.Add($"Skip%{q} p{parallelism}");
                    break;
                }

                case 4:
                    flow = flow.SelectMany(x => new[] { x * 2, (x * 2) + 1 });
                    model = model.SelectMany(x => new[] { x * 2, (x * 2) + 1 }).ToList();
                    description.Add("SelectMany x2");
                    break;
                case 5:
                {
                    var size = random.Next(1, 8);
                    var timed = random.Next(2) == 0;
                    flow = (timed ? flow.Batch(size, TimeSpan.FromMilliseconds(1)) : flow.Batch(size)).SelectMany(b => b);
                    description.Add($"Batch {size}{(timed ? " 1ms" : string.Empty)}");
                    break;
                }

                case 6:
                    flow = flow.Buffer(capacity);
                    description.Add($"Buffer {capacity}");
                    break;
                case 7:
                {
                    var keys = random.Next(1, 6);
                    flow = flow.SelectByKey(x => x % keys, (x, _) => new ValueTask<long>(x), new StageOptions { Parallelism = parallelism, Capacity = capacity });
                    keepsOrder &= keys == 1 || parallelism == 1;
                    description.Add($"SelectByKey k{keys} p{parallelism}");
                    break;
                }

                case 8:
                {
                    var extra = Enumerable.Range(0, random.Next(0, 20)).Select(i => 10_000_000L + i).ToList();
                    flow = Flow.Merge(flow, Flow.From(extra));
                    model = [.. model, .. extra];
                    keepsOrder = false;
                    description.Add($"Merge +{extra.Count}");
                    break;
                }

                case 9:
                    flow = flow.Where((x, _) => new ValueTask<bool>(true), new StageOptions { Parallelism = parallelism, Capacity = capacity, Ordered = true });
                    description.Add($"WhereAsync p{parallelism}");
                    break;
                default:
                    flow = flow.RateLimit(1_000_000, TimeSpan.FromSeconds(1));
                    description.Add("RateLimit");
                    break;
            }
        }

        var cancelAfter = failValue is null && random.Next(0, 5) == 0 ? random.Next(0, Math.Max(1, model.Count)) : -1;
        using var cts = new CancellationTokenSource();
        var output = new List<long>();
        FlowRun? flowRun = null;
        var maxBuffered = 0;
        var capacitySum = 0;
        void OnStarting(FlowRun r)
        {
            if (r.FlowName == name)
            {
                flowRun = r;
                capacitySum = r.Buffers.Sum(b => b.Capacity);
            }
        }

        FlowRun.Starting += OnStarting;
        try
        {
            var running = flow.ForEachAsync(
                x =>
                {
                    output.Add(x);
                    if (flowRun is { } r)
                    {
                        var buffered = r.Buffers.Sum(b => b.Count());
                        maxBuffered = Math.Max(maxBuffered, buffered);
                        Assert.IsTrue(buffered <= capacitySum, $"seed {seed}: buffered {buffered} > capacities {capacitySum}");
                    }

                    if (output.Count == cancelAfter)
                    {
                        cts.Cancel();
                    }
                },
                cts.Token);
            var what = $"seed {seed}: {string.Join(" | ", description)}";
            if (failValue is { } value)
            {
                var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => running, what);
                Assert.AreEqual("injected", ex.StageName, what);
                Assert.AreEqual(value, ex.Item, what);
                AssertNoDuplicatesWithin(output, model, what);
                return ("failed", maxBuffered);
            }

            if (cancelAfter >= 0 && cancelAfter < model.Count && cancelAfter > 0)
            {
                await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => running, what);
                AssertNoDuplicatesWithin(output, model, what);
                if (keepsOrder)
                {
                    CollectionAssert.AreEqual(model.Take(output.Count).ToList(), output, $"{what}: not a prefix");
                }

                return ("cancelled", maxBuffered);
            }

            try
            {
                await running;
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                return ("cancelled", maxBuffered);
            }

            if (keepsOrder)
            {
                CollectionAssert.AreEqual(model, output, what);
                return ("ordered", maxBuffered);
            }

            CollectionAssert.AreEqual(model.Order().ToList(), output.Order().ToList(), what);
            return ("unordered", maxBuffered);
        }
        finally
        {
            FlowRun.Starting -= OnStarting;
        }
    }

    private static void AssertNoDuplicatesWithin(List<long> output, List<long> model, string what)
    {
        var allowed = model.GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
        foreach (var group in output.GroupBy(x => x))
        {
            Assert.IsTrue(allowed.TryGetValue(group.Key, out var n) && group.Count() <= n, $"{what}: {group.Key} duplicated or invented");
        }
    }
}
