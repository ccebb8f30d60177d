using System.Diagnostics;
using System.Runtime.CompilerServices;

using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

namespace FlowKit.Tests.Executors;

/// <summary>Liveness of <c>MapAsync</c> over an asynchronous input: every item read is yielded once its result exists, even when
/// the input then waits (for the consumer, or for anything else) before producing the next one. Real clock; a stall is detected
/// by a generous bound, never by timing a success.</summary>
[TestClass]
public sealed class ExecutorMapStreamingTests
{
    private static readonly TimeSpan StallBound = TimeSpan.FromSeconds(10);
    private static readonly int StressFactor = ExecutorsTestWorkers.Stress ? 20 : 1;

    [TestMethod]
    [Timeout(120_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task ThreadMapAsync_KItemsThenStallUntilConsumerSawThem_AllKYielded(bool ordered)
    {
        await using var executor = new ThreadExecutor(2);
        var runs = 0;

        // A small window (k = 1 .. 2 x window, many repetitions), then the default window at its edges.
        foreach (var (window, ks, reps) in new[]
        {
            (4, Enumerable.Range(1, 8).ToArray(), 25 * StressFactor),
            (0, new[] { 1, 2, 3, 16, 31, 32, 33, 63, 64 }, 5 * StressFactor),
        })
        {
            var options = new ExecutorMapOptions { Ordered = ordered, MaxInFlight = window };
            foreach (var k in ks)
            {
                for (var rep = 0; rep < reps; rep++)
                {
                    await RunStall(k, (input, ct) => executor.MapAsync(static (int x, CancellationToken _) => x * 2, input, options, ct), ordered);
                    runs++;
                }
            }
        }

        Console.WriteLine($"thread MapAsync ordered={ordered}: {runs} stall runs, none stalled");
    }

    [TestMethod]
    [Timeout(120_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task ProcessMapAsync_KItemsThenStallUntilConsumerSawThem_AllKYielded(bool ordered)
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var runs = 0;
        foreach (var (options, ks, reps) in new[]
        {
            (new ExecutorMapOptions { Ordered = ordered, ChunkSize = 2, MaxInFlight = 2 }, Enumerable.Range(1, 8).ToArray(), 4 * StressFactor),
            (new ExecutorMapOptions { Ordered = ordered }, new[] { 1, 2, 3, 63, 64, 65, 130 }, 2 * StressFactor),
        })
        {
            foreach (var k in ks)
            {
                for (var rep = 0; rep < reps; rep++)
                {
                    await RunStall(k, (input, ct) => pool.MapAsync(TestWork.Square, Longs(input), options, ct), ordered, static r => (int)Math.Sqrt(r) * 2);
                    runs++;
                }
            }
        }

        Console.WriteLine($"process MapAsync ordered={ordered}: {runs} stall runs, none stalled; workers started {pool.GetStatistics().WorkersStarted}");
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task ThreadMapAsync_InputWaitsForEachResult_LockStep(bool ordered)
    {
        await using var executor = new ThreadExecutor(2);
        var latencies = new List<double>();
        for (var rep = 0; rep < 20 * StressFactor; rep++)
        {
            await RunLockStep(30, (input, ct) => executor.MapAsync(static x => x * 2, input, ordered, ct), static r => r / 2, latencies);
        }

        Report($"thread ordered={ordered}", latencies);
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task ProcessMapAsync_InputWaitsForEachResult_LockStep(bool ordered)
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var latencies = new List<double>();
        for (var rep = 0; rep < 3; rep++)
        {
            await RunLockStep(30, (input, ct) => pool.MapAsync(TestWork.Square, Longs(input), ordered, ct), static r => (int)Math.Sqrt(r), latencies);
        }

        Report($"process ordered={ordered}", latencies);
    }

    private static void Report(string what, List<double> ms)
    {
        ms.Sort();
        Console.WriteLine($"lock-step MapAsync {what}: {ms.Count} items, input-to-result latency p50 {ms[ms.Count / 2]:F2} ms, " +
            $"p99 {ms[(int)(ms.Count * 0.99)]:F2} ms, max {ms[^1]:F2} ms (load average {LoadAverage()})");
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>The input yields 0..k-1, then waits until the consumer has seen k results, then ends.</summary>
    private static async Task RunStall<TOut>(int k, Func<IAsyncEnumerable<int>, CancellationToken, IAsyncEnumerable<TOut>> map, bool ordered, Func<TOut, int>? decode = null)
    {
        var sawAll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var bound = new CancellationTokenSource(StallBound);
        var seen = new List<int>();
        try
        {
            await foreach (var r in map(StallAfter(k, sawAll.Task), bound.Token))
            {
                seen.Add(decode is null ? Convert.ToInt32(r) : decode(r));
                if (seen.Count == k)
                {
                    sawAll.TrySetResult();
                }
            }
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested)
        {
            Assert.Fail($"k = {k}: stalled with {seen.Count} of {k} results delivered");
        }

        var expected = Enumerable.Range(0, k).Select(static i => i * 2).ToList();
        if (ordered)
        {
            CollectionAssert.AreEqual(expected, seen, $"k = {k}");
        }
        else
        {
            CollectionAssert.AreEquivalent(expected, seen, $"k = {k}");
        }
    }

    /// <summary>The input yields item i only after the consumer has seen the result of item i - 1.</summary>
    private static async Task RunLockStep<TOut>(int n, Func<IAsyncEnumerable<int>, CancellationToken, IAsyncEnumerable<TOut>> map, Func<TOut, int> decode, List<double> latencies)
    {
        var yieldedAt = new long[n];
        var seen = new TaskCompletionSource[n];
        for (var i = 0; i < n; i++)
        {
            seen[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        using var bound = new CancellationTokenSource(StallBound);
        var count = 0;
        try
        {
            await foreach (var r in map(LockStep(n, seen, yieldedAt), bound.Token))
            {
                latencies.Add(Stopwatch.GetElapsedTime(yieldedAt[count]).TotalMilliseconds);
                Assert.AreEqual(count, decode(r));
                seen[count++].TrySetResult();
            }
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested)
        {
            Assert.Fail($"lock-step input stalled after {count} of {n} results");
        }

        Assert.AreEqual(n, count);
    }

    private static async IAsyncEnumerable<int> StallAfter(int k, Task release, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (var i = 0; i < k; i++)
        {
            yield return i;
        }

        await release.WaitAsync(ct);
    }

    private static async IAsyncEnumerable<int> LockStep(int n, TaskCompletionSource[] seen, long[] yieldedAt, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (var i = 0; i < n; i++)
        {
            yieldedAt[i] = Stopwatch.GetTimestamp();
            yield return i;
            await seen[i].Task.WaitAsync(ct);
        }
    }

    private static async IAsyncEnumerable<long> Longs(IAsyncEnumerable<int> source, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var x in source.WithCancellation(ct))
        {
            yield return x;
        }
    }
}
