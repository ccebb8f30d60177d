using System.Diagnostics;

namespace FlowKit.Tests.Queues;

/// <summary>
/// Reliability family 1, conservation under MPMC load: {1, 4, 16} producers x {1, 4, 16} consumers x capacity {0 (channels only),
/// 1, 64, unbounded}; no item lost or duplicated (bitmap of ids, count and sum). Default 10,000 items per configuration, 100,000 under
/// FLOWKIT_TEST_STRESS=1.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class QueueConservationTests
{
    private static readonly int[] Fanouts = [1, 4, 16];

    [TestMethod]
    [Timeout(600_000)]
    [DataRow("fifo", 1)]
    [DataRow("fifo", 64)]
    [DataRow("fifo", int.MaxValue)]
    [DataRow("priority", 1)]
    [DataRow("priority", 64)]
    [DataRow("priority", int.MaxValue)]
    [DataRow("lifo", 1)]
    [DataRow("lifo", 64)]
    [DataRow("lifo", int.MaxValue)]
    [DataRow("channel", 0)]
    [DataRow("channel", 1)]
    [DataRow("channel", 64)]
    [DataRow("channel", int.MaxValue)]
    public async Task MpmcLoad_EveryItemIsReceivedExactlyOnce(string kind, int capacity)
    {
        var items = QueueAssert.Size(10_000, 100_000);
        foreach (var producers in Fanouts)
        {
            foreach (var consumers in Fanouts)
            {
                var q = QueueUnderTest.Create(kind, capacity);
                var result = await RunAsync(q, producers, consumers, items);
                Console.WriteLine(
                    $"family1 {q.Name,-28} P={producers,-2} C={consumers,-2} items={items} lost={result.Lost} duplicated={result.Duplicated} " +
                    $"items/s={result.ItemsPerSecond:N0} p99 put->get={result.P99Microseconds:N0} us");
                Assert.AreEqual(0, result.Lost, $"{q.Name} P={producers} C={consumers}: items lost");
                Assert.AreEqual(0, result.Duplicated, $"{q.Name} P={producers} C={consumers}: items duplicated");
                Assert.AreEqual((long)items * (items - 1) / 2, result.Sum, $"{q.Name} P={producers} C={consumers}: sum of ids");
            }
        }
    }

    /// <summary>
    /// Conservation under MPMC load with timed cancellations: 4 producers x 4 consumers (and 1 x 4, 4 x 1) whose puts and gets are
    /// cancelled 0-300 µs after they start; the items delivered must be exactly those of the puts that reported success.
    /// 2,000 successful puts per fan-out, 6,000 per kind (40,000 per fan-out under FLOWKIT_TEST_STRESS=1).
    /// </summary>
    [TestMethod]
    [Timeout(120_000)]
    [DataRow("fifo", 1)]
    [DataRow("fifo", 64)]
    [DataRow("channel", 0)]
    [DataRow("channel", 1)]
    [DataRow("channel", 64)]
    public async Task MpmcLoad_TimedCancellations_DeliveredEqualsSuccessfulPutsExactly(string kind, int capacity)
    {
        var items = QueueAssert.Size(2_000, 40_000);
        foreach (var (producers, consumers) in new[] { (4, 4), (1, 4), (4, 1) })
        {
            var q = QueueUnderTest.Create(kind, capacity);
            var result = await TimedCancellationHarness.RunAsync(q, producers, consumers, items, maxDelayMicroseconds: 300, seed: 100 + producers * 10 + consumers);
            Console.WriteLine($"family1-timed {q.Name,-28} P={producers} C={consumers} {result}");
            Assert.AreEqual(0, result.Lost, $"{q.Name} P={producers} C={consumers}: items of successful puts never delivered ({result})");
            Assert.AreEqual(0, result.Phantom, $"{q.Name} P={producers} C={consumers}: items of cancelled puts delivered ({result})");
            Assert.AreEqual(0, result.Duplicated, $"{q.Name} P={producers} C={consumers}: items delivered twice ({result})");
        }
    }

    internal static async Task<MpmcResult> RunAsync(QueueUnderTest q, int producers, int consumers, int items)
    {
        var seen = new int[items];
        var putAt = new long[items];
        var latency = new long[items];
        var next = -1;
        long sum = 0;
        var clock = Stopwatch.StartNew();
        var consumerTasks = Enumerable.Range(0, consumers).Select(_ => Task.Run(async () =>
        {
            long localSum = 0;
            while (true)
            {
                int id;
                try
                {
                    id = await q.GetAsync();
                }
                catch (Exception e) when (e.GetType() == q.GetClosedException)
                {
                    break;
                }

                latency[id] = Stopwatch.GetTimestamp() - Volatile.Read(ref putAt[id]);
                Interlocked.Increment(ref seen[id]);
                localSum += id;
            }

            Interlocked.Add(ref sum, localSum);
        })).ToArray();
        var producerTasks = Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var id = Interlocked.Increment(ref next);
                if (id >= items)
                {
                    return;
                }

                Volatile.Write(ref putAt[id], Stopwatch.GetTimestamp());
                await q.PutAsync(id);
            }
        })).ToArray();
        await Task.WhenAll(producerTasks);
        q.Close();
        await Task.WhenAll(consumerTasks);
        clock.Stop();
        Array.Sort(latency);
        var p99 = latency[Math.Min(items - 1, (int)(items * 0.99))] * 1_000_000.0 / Stopwatch.Frequency;
        return new MpmcResult(
            seen.Count(c => c == 0),
            seen.Count(c => c > 1),
            Interlocked.Read(ref sum),
            items / clock.Elapsed.TotalSeconds,
            p99);
    }

    internal readonly record struct MpmcResult(int Lost, int Duplicated, long Sum, double ItemsPerSecond, double P99Microseconds);
}
