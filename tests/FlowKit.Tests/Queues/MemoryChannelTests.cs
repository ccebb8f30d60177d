namespace FlowKit.Tests.Queues;

/// <summary>Trio memory channel semantics: clones, end of channel, broken channel, rendezvous, enumeration.</summary>
[TestClass]
public sealed class MemoryChannelTests
{
    [TestMethod]
    [Timeout(10_000)]
    public void Open_NegativeCapacity_ThrowsArgumentOutOfRange()
    {
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => MemoryChannel.Open<int>(-1));
        Assert.AreEqual("capacity", error.ParamName);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Rendezvous_SendCompletesOnlyWhenAReceiverTookTheItem()
    {
        var (send, receive) = MemoryChannel.Open<string>(0);
        var sending = send.SendAsync("x").AsTask();
        Assert.IsFalse(sending.IsCompleted);
        Assert.IsFalse(send.TrySend("y"), "no receiver is waiting");
        Assert.AreEqual("x", await receive.ReceiveAsync());
        await sending.WaitAsync(TimeSpan.FromSeconds(1));
        Assert.AreEqual(0, send.GetStatistics().CurrentBufferUsed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ReceiveSide_EndsOnlyWhenEverySendCloneIsDisposed()
    {
        var (send, receive) = MemoryChannel.Open<int>(4);
        var clone = send.Clone();
        Assert.AreEqual(2, send.GetStatistics().OpenSendChannels);
        await send.SendAsync(1);
        send.Dispose();
        await clone.SendAsync(2);
        var pending = receive.ReceiveAsync();
        Assert.AreEqual(1, await pending);
        Assert.AreEqual(2, await receive.ReceiveAsync());
        var blocked = receive.ReceiveAsync().AsTask();
        Assert.IsFalse(blocked.IsCompleted, "one send clone is still open");
        clone.Dispose();
        await Assert.ThrowsExactlyAsync<EndOfChannelException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(1)));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Enumeration_YieldsEveryItemThenEnds()
    {
        var (send, receive) = MemoryChannel.Open<int>(0);
        var producer = Task.Run(async () =>
        {
            using (send)
            {
                for (var i = 0; i < 5; i++)
                {
                    await send.SendAsync(i);
                }
            }
        });
        var got = new List<int>();
        await foreach (var item in receive)
        {
            got.Add(item);
        }

        await producer;
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 3, 4 }, got);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task DisposingEveryReceiveClone_BreaksTheChannelAndWakesBlockedSenders()
    {
        var (send, receive) = MemoryChannel.Open<int>(1);
        var other = receive.Clone();
        await send.SendAsync(1);
        var blocked = send.SendAsync(2).AsTask();
        receive.Dispose();
        Assert.IsFalse(blocked.IsCompleted, "one receive clone is still open");
        other.Dispose();
        await Assert.ThrowsExactlyAsync<BrokenChannelException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(1)));
        await Assert.ThrowsExactlyAsync<BrokenChannelException>(async () => await send.SendAsync(3));
        Assert.ThrowsExactly<BrokenChannelException>(() => send.TrySend(4));
        Assert.AreEqual(0, send.GetStatistics().CurrentBufferUsed, "buffered items are dropped");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task DisposedClone_ThrowsObjectDisposedAndDisposeIsIdempotent()
    {
        var (send, receive) = MemoryChannel.Open<int>(1);
        var clone = send.Clone();
        clone.Dispose();
        clone.Dispose();
        Assert.AreEqual(1, send.GetStatistics().OpenSendChannels);
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(async () => await clone.SendAsync(1));
        Assert.ThrowsExactly<ObjectDisposedException>(() => clone.Clone());
        var receiveClone = receive.Clone();
        await receiveClone.DisposeAsync();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(async () => await receiveClone.ReceiveAsync());
        Assert.ThrowsExactly<ObjectDisposedException>(() => receiveClone.TryReceive(out _));
        Assert.AreEqual(1, send.GetStatistics().OpenReceiveChannels);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ClonedReceivers_ShareTheItemsEachGoingToOneOfThem()
    {
        var (send, receive) = MemoryChannel.Open<int>(0);
        var second = receive.Clone();
        var a = receive.ReceiveAsync().AsTask();
        var b = second.ReceiveAsync().AsTask();
        await send.SendAsync(1);
        await send.SendAsync(2);
        CollectionAssert.AreEquivalent(new[] { 1, 2 }, new[] { await a, await b });
        Assert.AreEqual(new MemoryChannelStatistics(0, 0, 1, 2, 0, 0), send.GetStatistics());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task OpenUnbounded_SendNeverWaits()
    {
        var (send, receive) = MemoryChannel.OpenUnbounded<int>();
        for (var i = 0; i < 10_000; i++)
        {
            Assert.IsTrue(send.SendAsync(i).IsCompletedSuccessfully);
        }

        Assert.AreEqual(10_000, receive.GetStatistics().CurrentBufferUsed);
        Assert.AreEqual(int.MaxValue, receive.GetStatistics().MaxBufferSize);
        Assert.AreEqual(0, await receive.ReceiveAsync());
    }

    [TestMethod]
    [Timeout(10_000)]
    [DataRow(0)]
    [DataRow(1)]
    public async Task DisposingACloneWithABlockedSend_WakesItWithObjectDisposedWhileOtherClonesStayOpen(int capacity)
    {
        var (send, receive) = MemoryChannel.Open<int>(capacity);
        var clone = send.Clone();
        for (var i = 0; i < capacity; i++)
        {
            Assert.IsTrue(clone.TrySend(i));
        }

        var blocked = clone.SendAsync(99).AsTask();
        Assert.IsFalse(blocked.IsCompleted);
        clone.Dispose();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(1)));
        Assert.AreEqual(1, send.GetStatistics().OpenSendChannels);
        var rest = send.SendAsync(7).AsTask();
        var got = new List<int>();
        for (var i = 0; i < capacity + 1; i++)
        {
            got.Add(await receive.ReceiveAsync());
        }

        await rest;
        CollectionAssert.DoesNotContain(got, 99, "the send cancelled by the dispose must not have inserted its item");
        CollectionAssert.Contains(got, 7);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task DisposingACloneWithABlockedReceive_WakesItWithObjectDisposedAndTheItemGoesToAnotherClone()
    {
        var (send, receive) = MemoryChannel.Open<int>(0);
        var clone = receive.Clone();
        var blocked = clone.ReceiveAsync().AsTask();
        var enumerated = Task.Run(async () =>
        {
            await foreach (var item in clone)
            {
                return item;
            }

            return -1;
        });
        clone.Dispose();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(1)));
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => enumerated.WaitAsync(TimeSpan.FromSeconds(1)));
        var other = receive.ReceiveAsync().AsTask();
        await send.SendAsync(5);
        Assert.AreEqual(5, await other);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CallerCancellation_OnAWaitingSendOrReceive_CarriesTheCallersToken()
    {
        var (send, receive) = MemoryChannel.Open<int>(0);
        using var cts = new CancellationTokenSource();
        var sending = send.SendAsync(1, cts.Token).AsTask();
        var otherChannel = MemoryChannel.Open<int>(0);
        var receiving = otherChannel.Receive.ReceiveAsync(cts.Token).AsTask();
        cts.Cancel();
        var sendError = await Assert.ThrowsAsync<OperationCanceledException>(() => sending);
        var receiveError = await Assert.ThrowsAsync<OperationCanceledException>(() => receiving);
        Assert.AreEqual(cts.Token, sendError.CancellationToken);
        Assert.AreEqual(cts.Token, receiveError.CancellationToken);
        Assert.IsFalse(receive.TryReceive(out _));
    }
}
