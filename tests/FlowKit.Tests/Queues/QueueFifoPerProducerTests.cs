namespace FlowKit.Tests.Queues;

/// <summary>
/// Reliability family 2, per-producer FIFO: 4 producers tag items (producer, seq); one consumer checks that seq increases per
/// producer. 20,000 items by default, 100,000 under FLOWKIT_TEST_STRESS=1. FIFO kinds only (the priority and LIFO queues reorder
/// by design; their order has its own tests).
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class QueueFifoPerProducerTests
{
    [TestMethod]
    [Timeout(120_000)]
    [DataRow("fifo", 64)]
    [DataRow("fifo", int.MaxValue)]
    [DataRow("channel", 0)]
    [DataRow("channel", 64)]
    [DataRow("channel", int.MaxValue)]
    public async Task FourProducers_EachProducersItemsArriveInTheOrderItPutThem(string kind, int capacity)
    {
        const int Producers = 4;
        var items = QueueAssert.Size(20_000, 100_000);
        var q = QueueUnderTest.Create(kind, capacity);
        var perProducer = items / Producers;
        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            for (var seq = 0; seq < perProducer; seq++)
            {
                await q.PutAsync((p << 24) | seq);
            }
        })).ToArray();
        var last = new int[Producers];
        Array.Fill(last, -1);
        var violations = 0;
        for (var i = 0; i < perProducer * Producers; i++)
        {
            var item = await q.GetAsync();
            int p = item >> 24, seq = item & 0xFFFFFF;
            if (seq <= last[p])
            {
                violations++;
            }

            last[p] = seq;
        }

        await Task.WhenAll(producers);
        Console.WriteLine($"family2 {q.Name,-28} producers={Producers} items={perProducer * Producers} order violations={violations}");
        Assert.AreEqual(0, violations);
        CollectionAssert.AreEqual(Enumerable.Repeat(perProducer - 1, Producers).ToArray(), last);
    }
}
