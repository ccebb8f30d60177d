using System.Diagnostics;

namespace FlowKit.Tests.Queues;

/// <summary>
/// Reliability family 5 (cancellation racing get and put) and the stress test (8 producers x 8 consumers with random
/// cancellations, multiset of received items equal to the multiset sent). Family 5 always runs 100 attempts; the stress test runs 200,000 items by default and
/// 1,000,000 under FLOWKIT_TEST_STRESS=1.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class QueueCancellationRaceTests
{
    private const int PendingGets = 1_000;

    [TestMethod]
    [Timeout(300_000)]
    [DataRow("fifo", int.MaxValue)]
    [DataRow("fifo", 64)]
    [DataRow("priority", int.MaxValue)]
    [DataRow("lifo", int.MaxValue)]
    [DataRow("channel", 0)]
    [DataRow("channel", 64)]
    public async Task CancelRacingWriter_ThousandPendingGets_EachEndsWithAValueOrCancellationAndNothingIsLost(string kind, int capacity)
    {
        var attempts = 100;
        var clock = Stopwatch.StartNew();
        long delivered = 0, cancelled = 0;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var q = QueueUnderTest.Create(kind, capacity);
            using var cts = new CancellationTokenSource();
            var gets = new Task<int>[PendingGets];
            for (var i = 0; i < PendingGets; i++)
            {
                gets[i] = q.GetAsync(i % 2 == 0 ? cts.Token : CancellationToken.None).AsTask();
            }

            var written = 0;
            var writer = Task.Run(async () =>
            {
                for (var i = 0; i < PendingGets; i++)
                {
                    await q.PutAsync(i);
                    written++;
                }
            });
            var cancel = Task.Run(cts.Cancel);

            // The uncancellable half always gets items: the cancelled half takes at most what the writer leaves over.
            await Task.WhenAll(gets.Where((_, i) => i % 2 == 1));
            await cancel;
            await Task.WhenAll(gets.Select(g => g.ContinueWith(_ => { }, TaskScheduler.Default)));
            q.Close();
            await writer.ContinueWith(_ => { }, TaskScheduler.Default);
            Assert.IsFalse(writer.IsFaulted && writer.Exception!.InnerException!.GetType() != q.PutClosedException, $"writer failed: {writer.Exception}");

            var seen = new int[PendingGets];
            foreach (var get in gets)
            {
                Assert.IsTrue(get.IsCompletedSuccessfully || get.IsCanceled, $"a get ended neither with a value nor cancelled: {get.Exception}");
                if (get.IsCompletedSuccessfully)
                {
                    seen[get.Result]++;
                    delivered++;
                }
                else
                {
                    cancelled++;
                }
            }

            while (q.TryGet(out var left))
            {
                seen[left]++;
            }

            Assert.AreEqual(written, seen.Count(c => c == 1), $"attempt {attempt}: delivered + drained != written");
            Assert.AreEqual(0, seen.Count(c => c > 1), $"attempt {attempt}: an item was delivered twice");
        }

        Console.WriteLine(
            $"family5 {QueueUnderTest.Create(kind, capacity).Name,-28} attempts={attempts} x {PendingGets} pending gets: delivered={delivered} " +
            $"cancelled={cancelled} lost=0 in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.IsLessThan(100, clock.Elapsed.TotalSeconds);
    }

    [TestMethod]
    [Timeout(300_000)]
    [DataRow("fifo", 64)]
    [DataRow("priority", 1)]
    [DataRow("lifo", 64)]
    [DataRow("channel", 0)]
    [DataRow("channel", 64)]
    public async Task CancelRacingReader_ThousandPendingPuts_NoCancelledItemIsInsertedAndNoneIsLost(string kind, int capacity)
    {
        var attempts = 100;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var q = QueueUnderTest.Create(kind, capacity);
            using var cts = new CancellationTokenSource();
            var puts = new Task[PendingGets];
            for (var i = 0; i < PendingGets; i++)
            {
                puts[i] = q.PutAsync(i, i % 2 == 0 ? cts.Token : CancellationToken.None).AsTask();
            }

            var received = new List<int>();
            var reader = Task.Run(async () =>
            {
                // Exactly as many gets as uncancellable puts, so the reader never waits for an item that cannot come.
                for (var i = 0; i < PendingGets / 2; i++)
                {
                    received.Add(await q.GetAsync());
                }
            });
            var cancel = Task.Run(cts.Cancel);
            await Task.WhenAll(reader, cancel);

            // Puts still blocked now (the buffer is full again) are failed by the close, and did not insert their items.
            q.Close();
            await Task.WhenAll(puts.Select(p => p.ContinueWith(_ => { }, TaskScheduler.Default)));
            var accepted = new HashSet<int>(Enumerable.Range(0, PendingGets).Where(i => puts[i].IsCompletedSuccessfully));
            while (q.TryGet(out var left))
            {
                received.Add(left);
            }

            Assert.IsTrue(puts.All(p => p.IsCompletedSuccessfully || p.IsCanceled || p.Exception?.InnerException?.GetType() == q.PutClosedException));
            CollectionAssert.AreEquivalent(accepted.ToList(), received, $"attempt {attempt}: received items differ from accepted puts");
            Assert.IsTrue(puts.Where((p, i) => i % 2 == 1).All(p => p.IsCompletedSuccessfully || p.IsFaulted), "an uncancellable put was cancelled");
        }

        Console.WriteLine($"family5 {QueueUnderTest.Create(kind, capacity).Name,-28} attempts={attempts} x {PendingGets} pending puts: half-inserted=0 lost=0");
    }

    /// <summary>
    /// Puts and gets cancelled at random instants 0-300 µs after they start, so many cancels land while a peer completes the same
    /// operation: the items delivered must be exactly those of the puts that reported success (none lost, none from a put that
    /// reported cancellation, none twice). 1 producer x 1 consumer, 1 x 2 and 2 x 2; 10,000-20,000 successful puts per kind by
    /// default, 400,000 under FLOWKIT_TEST_STRESS=1.
    /// </summary>
    [TestMethod]
    [Timeout(120_000)]
    [DataRow("fifo", 1)]
    [DataRow("fifo", 64)]
    [DataRow("fifo", int.MaxValue)]
    [DataRow("priority", 1)]
    [DataRow("lifo", 1)]
    [DataRow("channel", 0)]
    [DataRow("channel", 1)]
    [DataRow("channel", 64)]
    [DataRow("channel", int.MaxValue)]
    public async Task TimedCancellations_0To300Microseconds_DeliveredEqualsSuccessfulPutsExactly(string kind, int capacity)
    {
        var items = QueueAssert.Size(TimedItems(kind, capacity), 400_000);
        foreach (var (producers, consumers) in new[] { (1, 1), (1, 2), (2, 2) })
        {
            var q = QueueUnderTest.Create(kind, capacity);
            var result = await TimedCancellationHarness.RunAsync(q, producers, consumers, items / 3, maxDelayMicroseconds: 300, seed: producers * 10 + consumers);
            Console.WriteLine($"family5-timed {q.Name,-28} P={producers} C={consumers} {result}");
            Assert.IsGreaterThanOrEqualTo(items / 3, result.SuccessfulPuts);
            Assert.AreEqual(0, result.Lost, $"{q.Name} P={producers} C={consumers}: items of successful puts never delivered ({result})");
            Assert.AreEqual(0, result.Phantom, $"{q.Name} P={producers} C={consumers}: items of cancelled puts delivered ({result})");
            Assert.AreEqual(0, result.Duplicated, $"{q.Name} P={producers} C={consumers}: items delivered twice ({result})");
        }
    }

    // The kinds the runtime's Channel once backed (FIFO, capacity >= 1) get the most items; the rest share the budget.
    private static int TimedItems(string kind, int capacity) => (kind, capacity) switch
    {
        ("fifo", 1) or ("channel", 1) => 21_000,
        _ => 9_000,
    };

    [TestMethod]
    [Timeout(600_000)]
    [DataRow("fifo", 64)]
    [DataRow("priority", 64)]
    [DataRow("lifo", 64)]
    [DataRow("channel", 0)]
    [DataRow("channel", 64)]
    public async Task EightProducersEightConsumers_RandomCancellations_ReceivedMultisetEqualsSent(string kind, int capacity)
    {
        const int Producers = 8, Consumers = 8;
        var items = QueueAssert.Size(200_000, 1_000_000);
        var q = QueueUnderTest.Create(kind, capacity);
        var received = new int[items];
        long cancelledPuts = 0, cancelledGets = 0;
        var next = -1;
        var clock = Stopwatch.StartNew();
        var consumers = Enumerable.Range(0, Consumers).Select(c => Task.Run(async () =>
        {
            var random = new Random(1000 + c);
            while (true)
            {
                using var cts = random.Next(8) == 0 ? new CancellationTokenSource() : null;
                var get = q.GetAsync(cts?.Token ?? CancellationToken.None);
                cts?.Cancel();
                try
                {
                    var id = await get;
                    Interlocked.Increment(ref received[id]);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelledGets);
                }
                catch (Exception e) when (e.GetType() == q.GetClosedException)
                {
                    return;
                }
            }
        })).ToArray();
        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            var random = new Random(p);
            int id;
            while ((id = Interlocked.Increment(ref next)) < items)
            {
                while (true)
                {
                    using var cts = random.Next(8) == 0 ? new CancellationTokenSource() : null;
                    var put = q.PutAsync(id, cts?.Token ?? CancellationToken.None);
                    cts?.Cancel();
                    try
                    {
                        await put;
                        break;
                    }
                    catch (OperationCanceledException)
                    {
                        // The put did not happen: send the same item again.
                        Interlocked.Increment(ref cancelledPuts);
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(producers);
        q.Close();
        await Task.WhenAll(consumers);
        var lost = received.Count(c => c == 0);
        var duplicated = received.Count(c => c > 1);
        Console.WriteLine(
            $"stress {q.Name,-28} 8x8 items={items} cancelled puts={cancelledPuts} cancelled gets={cancelledGets} lost={lost} " +
            $"duplicated={duplicated} in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.AreEqual(0, lost);
        Assert.AreEqual(0, duplicated);
    }
}
