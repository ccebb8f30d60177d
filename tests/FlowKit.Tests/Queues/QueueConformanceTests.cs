namespace FlowKit.Tests.Queues;

/// <summary>
/// The contract every queue kind keeps (the ChannelTestBase pattern: one abstract suite, one derived class per kind). This is
/// reliability family 7, the close/complete semantics matrix, plus the cancellation and fairness rules shared by all kinds.
/// </summary>
public abstract class QueueConformanceTests
{
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    protected abstract QueueUnderTest Create();

    [TestMethod]
    [Timeout(10_000)]
    public async Task PutThenGet_ReturnsTheItem()
    {
        var q = Create();
        var get = q.GetAsync();
        await q.PutAsync(42);
        Assert.AreEqual(42, await get);
        Assert.AreEqual(0, q.Count);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void TryGet_OnEmptyQueue_ReturnsFalse()
    {
        var q = Create();
        Assert.IsFalse(q.TryGet(out _));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Close_Twice_IsAllowedAndStaysClosed()
    {
        var q = Create();
        q.Close();
        q.Close();
        await QueueAssert.ThrowsAsync(q.PutClosedException, async () => await q.PutAsync(1));
        await QueueAssert.ThrowsAsync(q.GetClosedException, async () => await q.GetAsync());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task PutAsync_AfterClose_ThrowsClosedError()
    {
        var q = Create();
        q.Close();
        await QueueAssert.ThrowsAsync(q.PutClosedException, async () => await q.PutAsync(1));
        Assert.AreEqual(0, q.Count);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void TryPut_AfterClose_ThrowsClosedError()
    {
        var q = Create();
        q.Close();
        QueueAssert.Throws(q.PutClosedException, () => q.TryPut(1));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task GetAsync_OnClosedDrainedQueue_ThrowsEndError()
    {
        var q = Create();
        q.Close();
        await QueueAssert.ThrowsAsync(q.GetClosedException, async () => await q.GetAsync());
        Assert.IsFalse(q.TryGet(out _));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Close_WithBufferedItems_GetsDrainThemThenEnd()
    {
        var q = Create();
        var buffered = Math.Min(q.Capacity, 3);
        for (var i = 0; i < buffered; i++)
        {
            Assert.IsTrue(q.TryPut(i));
        }

        q.Close();
        var got = new List<int>();
        for (var i = 0; i < buffered; i++)
        {
            got.Add(await q.GetAsync());
        }

        CollectionAssert.AreEquivalent(Enumerable.Range(0, buffered).ToList(), got);
        await QueueAssert.ThrowsAsync(q.GetClosedException, async () => await q.GetAsync());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Close_WakesBlockedGet_WithinOneSecond()
    {
        var q = Create();
        var get = q.GetAsync().AsTask();
        Assert.IsFalse(get.IsCompleted);
        Assert.AreEqual(1, q.WaitingGetters);
        q.Close();
        await QueueAssert.ThrowsAsync(q.GetClosedException, () => get.WaitAsync(OneSecond));
        Assert.AreEqual(0, q.WaitingGetters);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CloseAndDrop_DiscardsBufferedItems()
    {
        var q = Create();
        var buffered = Math.Min(q.Capacity, 3);
        for (var i = 0; i < buffered; i++)
        {
            Assert.IsTrue(q.TryPut(i));
        }

        q.CloseAndDrop();
        Assert.AreEqual(0, q.Count);
        if (q is ChannelUnderTest channel)
        {
            Assert.AreEqual(0, channel.Send.GetStatistics().OpenReceiveChannels);
        }
        else
        {
            await QueueAssert.ThrowsAsync(q.GetClosedException, async () => await q.GetAsync());
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public void PutAsync_WithPrecancelledToken_ComesBackCanceledWithoutInserting()
    {
        var q = Create();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var put = q.PutAsync(1, cts.Token);
        Assert.IsTrue(put.IsCanceled);
        Assert.AreEqual(0, q.Count);
        Assert.IsFalse(q.TryGet(out _));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void GetAsync_WithPrecancelledToken_ComesBackCanceledWithoutTaking()
    {
        var q = Create();
        var buffered = q.Capacity > 0 && q.TryPut(5);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var get = q.GetAsync(cts.Token);
        Assert.IsTrue(get.IsCanceled);
        Assert.AreEqual(buffered ? 1 : 0, q.Count);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task GetAsync_Cancelled_DoesNotSwallowTheNextItem()
    {
        var q = Create();
        using var cts = new CancellationTokenSource();
        var get = q.GetAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => get);
        Assert.AreEqual(0, q.WaitingGetters);
        var put = q.PutAsync(7).AsTask();
        Assert.AreEqual(7, await q.GetAsync());
        await put;
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task BlockedGetters_AreServedInArrivalOrder()
    {
        var q = Create();
        var getters = Enumerable.Range(0, 5).Select(_ => q.GetAsync().AsTask()).ToArray();
        Assert.AreEqual(5, q.WaitingGetters);
        for (var i = 0; i < getters.Length; i++)
        {
            await q.PutAsync(100 + i);
            Assert.AreEqual(100 + i, await getters[i], $"getter {i} was overtaken");
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CancelledGetterInTheMiddle_IsSkipped()
    {
        var q = Create();
        using var cts = new CancellationTokenSource();
        var first = q.GetAsync().AsTask();
        var middle = q.GetAsync(cts.Token).AsTask();
        var last = q.GetAsync().AsTask();
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => middle);
        await q.PutAsync(1);
        await q.PutAsync(2);
        Assert.AreEqual(1, await first);
        Assert.AreEqual(2, await last);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task GetCancelRacingPut_DeliversOrKeepsTheItem_Repeated500Times()
    {
        for (var i = 0; i < 500; i++)
        {
            var q = Create();
            using var cts = new CancellationTokenSource();
            var get = q.GetAsync(cts.Token).AsTask();
            using var go = new ManualResetEventSlim();
            var cancel = Task.Run(() =>
            {
                go.Wait();
                cts.Cancel();
            });
            var put = Task.Run(async () =>
            {
                go.Wait();
                await q.PutAsync(i);
            });
            go.Set();
            await cancel;
            await Task.WhenAny(get);
            if (get.IsCompletedSuccessfully)
            {
                Assert.AreEqual(i, get.Result);
                await put;
                Assert.IsFalse(q.TryGet(out _), "the item was delivered twice");
            }
            else
            {
                // The cancelled getter did not take it: it is in the buffer, or (rendezvous) with the blocked putter.
                Assert.AreEqual(i, await q.GetAsync());
                await put;
            }
        }
    }
}

/// <summary>The extra contract of bounded kinds (including the rendezvous): the bound, blocked putters and cancelled puts.</summary>
public abstract class BoundedQueueConformanceTests : QueueConformanceTests
{
    [TestMethod]
    [Timeout(10_000)]
    public void TryPut_WhenFull_ReturnsFalseAndCountStaysAtCapacity()
    {
        var q = Fill(Create());
        Assert.IsFalse(q.TryPut(-1));
        Assert.AreEqual(q.Capacity, q.Count);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task PutAsync_WhenFull_WaitsUntilAGetFreesASlot()
    {
        var q = Fill(Create());
        var put = q.PutAsync(99).AsTask();
        Assert.IsFalse(put.IsCompleted);
        Assert.AreEqual(1, q.WaitingPutters);
        Assert.AreEqual(q.Capacity, q.Count);
        _ = await q.GetAsync();
        await put.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.AreEqual(q.Capacity, q.Count);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Close_WakesBlockedPut_WithClosedErrorAndWithoutInserting()
    {
        var q = Fill(Create());
        var put = q.PutAsync(99).AsTask();
        Assert.IsFalse(put.IsCompleted);
        q.Close();
        await QueueAssert.ThrowsAsync(q.PutClosedException, () => put.WaitAsync(TimeSpan.FromSeconds(1)));
        var drained = Drain(q);
        CollectionAssert.DoesNotContain(drained, 99);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task PutAsync_Cancelled_DoesNotInsertItsItem()
    {
        var q = Fill(Create());
        using var cts = new CancellationTokenSource();
        var put = q.PutAsync(99, cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => put);
        Assert.AreEqual(0, q.WaitingPutters);
        Assert.AreEqual(q.Capacity, q.Count);
        q.Close();
        CollectionAssert.DoesNotContain(Drain(q), 99);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task BlockedPutters_AreAdmittedInArrivalOrder()
    {
        var q = Fill(Create());
        var putters = Enumerable.Range(0, 4).Select(i => q.PutAsync(100 + i).AsTask()).ToArray();
        Assert.AreEqual(4, q.WaitingPutters);
        for (var i = 0; i < putters.Length; i++)
        {
            _ = await q.GetAsync();
            await putters[i].WaitAsync(TimeSpan.FromSeconds(5));
            for (var later = i + 1; later < putters.Length; later++)
            {
                Assert.IsFalse(putters[later].IsCompleted, $"putter {later} overtook putter {i}");
            }
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CancelledPutterInTheMiddle_IsSkipped()
    {
        var q = Fill(Create());
        using var cts = new CancellationTokenSource();
        var first = q.PutAsync(100).AsTask();
        var middle = q.PutAsync(101, cts.Token).AsTask();
        var last = q.PutAsync(102).AsTask();
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => middle);
        var got = new List<int>();
        for (var i = 0; i < q.Capacity + 2; i++)
        {
            got.Add(await q.GetAsync());
        }

        await Task.WhenAll(first, last);
        CollectionAssert.Contains(got, 100);
        CollectionAssert.Contains(got, 102);
        CollectionAssert.DoesNotContain(got, 101);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Count_NeverExceedsCapacity_UnderEightConcurrentProducers()
    {
        var q = Create();
        var maxSeen = 0;
        var producers = Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                await q.PutAsync((p * 1000) + i);
            }
        })).ToArray();
        var received = 0;
        while (received < 8 * 300)
        {
            maxSeen = Math.Max(maxSeen, q.Count);
            _ = await q.GetAsync();
            received++;
            maxSeen = Math.Max(maxSeen, q.Count);
        }

        await Task.WhenAll(producers);
        Console.WriteLine($"{q.Name}: max depth {maxSeen} with 8 producers (bound {q.Capacity})");
        Assert.IsLessThanOrEqualTo(q.Capacity, maxSeen);
    }

    protected static QueueUnderTest Fill(QueueUnderTest q)
    {
        for (var i = 0; i < q.Capacity; i++)
        {
            Assert.IsTrue(q.TryPut(i), $"could not fill slot {i}");
        }

        return q;
    }

    protected static List<int> Drain(QueueUnderTest q)
    {
        var items = new List<int>();
        while (q.TryGet(out var item))
        {
            items.Add(item);
        }

        return items;
    }
}

[TestClass]
public sealed class AsyncQueueBoundedConformanceTests : BoundedQueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("fifo", 2);
}

[TestClass]
public sealed class AsyncQueueUnboundedConformanceTests : QueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("fifo", int.MaxValue);
}

[TestClass]
public sealed class PriorityAsyncQueueBoundedConformanceTests : BoundedQueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("priority", 2);
}

[TestClass]
public sealed class PriorityAsyncQueueUnboundedConformanceTests : QueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("priority", int.MaxValue);
}

[TestClass]
public sealed class LifoAsyncQueueBoundedConformanceTests : BoundedQueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("lifo", 2);
}

[TestClass]
public sealed class LifoAsyncQueueUnboundedConformanceTests : QueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("lifo", int.MaxValue);
}

[TestClass]
public sealed class MemoryChannelRendezvousConformanceTests : BoundedQueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("channel", 0);
}

[TestClass]
public sealed class MemoryChannelBoundedConformanceTests : BoundedQueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("channel", 2);
}

[TestClass]
public sealed class MemoryChannelUnboundedConformanceTests : QueueConformanceTests
{
    protected override QueueUnderTest Create() => QueueUnderTest.Create("channel", int.MaxValue);
}
