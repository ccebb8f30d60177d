namespace FlowKit.Tests.Queues.Upstream;

/// <summary>
/// Trio's <c>trio/_tests/test_channel.py</c>, case by case. Mapping: <c>send_nowait</c>/<c>receive_nowait</c> are
/// <see cref="SendChannel{T}.TrySend"/>/<see cref="ReceiveChannel{T}.TryReceive"/> (false instead of <c>WouldBlock</c>; a
/// <c>TryReceive</c> on an ended channel is false too, and <see cref="ReceiveChannel{T}.ReceiveAsync"/> reports the end),
/// <c>ClosedResourceError</c> is <see cref="ObjectDisposedException"/>, <c>BrokenResourceError</c> is
/// <see cref="BrokenChannelException"/>, <c>EndOfChannel</c> is <see cref="EndOfChannelException"/>, <c>aclose()</c> is
/// <c>Dispose</c>. Cases that do not apply are listed in docs/queues.md.
/// </summary>
[TestClass]
public sealed class TrioChannelTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_channel()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => MemoryChannel.Open<int>(-1));
        var (s, r) = MemoryChannel.Open<string?>(2);
        Assert.IsTrue(s.TrySend("1"));
        await s.SendAsync("2");
        Assert.IsFalse(s.TrySend(null), "send_nowait on a full buffer would block");
        Assert.AreEqual("1", await r.ReceiveAsync());
        Assert.IsTrue(r.TryReceive(out var second));
        Assert.AreEqual("2", second);
        Assert.IsFalse(r.TryReceive(out _), "receive_nowait on an empty buffer would block");

        Assert.IsTrue(s.TrySend("last"));
        s.Dispose();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => s.SendAsync("too late").AsTask());
        Assert.ThrowsExactly<ObjectDisposedException>(() => s.TrySend("too late"));
        Assert.ThrowsExactly<ObjectDisposedException>(() => s.Clone());
        s.Dispose();

        Assert.IsTrue(r.TryReceive(out var last));
        Assert.AreEqual("last", last);
        await Assert.ThrowsExactlyAsync<EndOfChannelException>(() => r.ReceiveAsync().AsTask());
        r.Dispose();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => r.ReceiveAsync().AsTask());
        Assert.ThrowsExactly<ObjectDisposedException>(() => r.TryReceive(out _));
        r.Dispose();
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_553()
    {
        // A receive cancelled by a timeout must not leave a ghost receiver that swallows the next send.
        var (s, r) = MemoryChannel.Open<string>(1);
        using var timeout = new CancellationTokenSource();
        var receive = r.ReceiveAsync(timeout.Token).AsTask();
        timeout.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => receive);
        await s.SendAsync("Test for PR #553");
        Assert.IsTrue(r.TryReceive(out var item));
        Assert.AreEqual("Test for PR #553", item);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Trio_test_channel_multiple_producers()
    {
        var (s, r) = MemoryChannel.Open<int>(0);
        var clones = Enumerable.Range(0, 10).Select(_ => s.Clone()).ToArray();
        var producers = Enumerable.Range(0, 10).Select(p => Task.Run(async () =>
        {
            using var clone = clones[p];
            for (var i = p; i < 100; i += 10)
            {
                await clone.SendAsync(i);
            }
        })).ToArray();
        s.Dispose();
        var got = new List<int>();
        await foreach (var value in r)
        {
            got.Add(value);
        }

        await Task.WhenAll(producers).WaitAsync(Bound);
        CollectionAssert.AreEqual(Enumerable.Range(0, 100).ToList(), got.Order().ToList());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Trio_test_channel_multiple_consumers()
    {
        var (s, r) = MemoryChannel.Open<int>(0);
        var received = new List<int>[10];
        var clones = Enumerable.Range(0, 10).Select(_ => r.Clone()).ToArray();
        var consumers = Enumerable.Range(0, 10).Select(c => Task.Run(async () =>
        {
            received[c] = [];
            using var clone = clones[c];
            await foreach (var value in clone)
            {
                received[c].Add(value);
            }
        })).ToArray();
        r.Dispose();
        for (var i = 0; i < 10; i++)
        {
            await s.SendAsync(i);
        }

        s.Dispose();
        await Task.WhenAll(consumers).WaitAsync(Bound);
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).ToList(), received.SelectMany(x => x).Order().ToList());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_close_basics()
    {
        // Closing the send side: a send blocked on that clone gets ClosedResourceError, and it persists.
        var (s, r) = MemoryChannel.Open<int>(0);
        var blocked = s.SendAsync(0).AsTask();
        s.Dispose();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => blocked.WaitAsync(Bound));
        Assert.ThrowsExactly<ObjectDisposedException>(() => s.TrySend(0));
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => s.SendAsync(0).AsTask());
        Assert.IsFalse(r.TryReceive(out _));
        await Assert.ThrowsExactlyAsync<EndOfChannelException>(() => r.ReceiveAsync().AsTask());

        // Closing the receive side: a blocked send gets BrokenResourceError, and it persists.
        (s, r) = MemoryChannel.Open<int>(0);
        blocked = s.SendAsync(0).AsTask();
        r.Dispose();
        await Assert.ThrowsExactlyAsync<BrokenChannelException>(() => blocked.WaitAsync(Bound));
        Assert.ThrowsExactly<BrokenChannelException>(() => s.TrySend(0));
        await Assert.ThrowsExactlyAsync<BrokenChannelException>(() => s.SendAsync(0).AsTask());

        // Closing the receive side: a receive blocked on that clone gets ClosedResourceError, and it persists.
        (s, r) = MemoryChannel.Open<int>(0);
        var receiving = r.ReceiveAsync().AsTask();
        r.Dispose();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => receiving.WaitAsync(Bound));
        Assert.ThrowsExactly<ObjectDisposedException>(() => r.TryReceive(out _));
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => r.ReceiveAsync().AsTask());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_receive_channel_clone_and_close()
    {
        var (s, r) = MemoryChannel.Open<int>(10);
        var r2 = r.Clone();
        var r3 = r.Clone();
        s.Dispose();
        r.Dispose();
        r2.Dispose();
        await Assert.ThrowsExactlyAsync<EndOfChannelException>(() => r3.ReceiveAsync().AsTask());
        r3.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => r3.Clone());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_close_multiple_send_handles()
    {
        var (s1, r) = MemoryChannel.Open<int>(0);
        var s2 = s1.Clone();
        var receiving = r.ReceiveAsync().AsTask();
        s1.Dispose();
        Assert.IsFalse(receiving.IsCompleted, "one send clone is still open");
        s2.Dispose();
        await Assert.ThrowsExactlyAsync<EndOfChannelException>(() => receiving.WaitAsync(Bound));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_close_multiple_receive_handles()
    {
        var (s, r1) = MemoryChannel.Open<int>(0);
        var r2 = r1.Clone();
        var sending = s.SendAsync(0).AsTask();
        r1.Dispose();
        Assert.IsFalse(sending.IsCompleted, "one receive clone is still open");
        r2.Dispose();
        await Assert.ThrowsExactlyAsync<BrokenChannelException>(() => sending.WaitAsync(Bound));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_inf_capacity()
    {
        var (s, r) = MemoryChannel.OpenUnbounded<int>();
        for (var i = 0; i < 10; i++)
        {
            Assert.IsTrue(s.TrySend(i));
        }

        s.Dispose();
        var got = new List<int>();
        await foreach (var i in r)
        {
            got.Add(i);
        }

        CollectionAssert.AreEqual(Enumerable.Range(0, 10).ToList(), got);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_statistics()
    {
        var (s, r) = MemoryChannel.Open<int>(2);
        Assert.AreEqual(new MemoryChannelStatistics(0, 2, 1, 1, 0, 0), s.GetStatistics());
        Assert.AreEqual(s.GetStatistics(), r.GetStatistics());
        s.TrySend(1);
        Assert.AreEqual(1, s.GetStatistics().CurrentBufferUsed);
        var s2 = s.Clone();
        Assert.AreEqual(2, s.GetStatistics().OpenSendChannels);
        s.Dispose();
        Assert.AreEqual(1, r.GetStatistics().OpenSendChannels);
        var r2 = r.Clone();
        Assert.AreEqual(2, s2.GetStatistics().OpenReceiveChannels);
        r2.Dispose();
        Assert.AreEqual(1, s2.GetStatistics().OpenReceiveChannels);

        s2.TrySend(2);
        var sending = s2.SendAsync(3).AsTask();
        Assert.AreEqual(1, r.GetStatistics().TasksWaitingSend);
        Assert.AreEqual(0, r.GetStatistics().TasksWaitingReceive);
        Assert.AreEqual(1, await r.ReceiveAsync());
        await sending.WaitAsync(Bound);
        Assert.AreEqual(2, await r.ReceiveAsync());
        Assert.AreEqual(3, await r.ReceiveAsync());
        var receiving = r.ReceiveAsync().AsTask();
        Assert.AreEqual(1, s2.GetStatistics().TasksWaitingReceive);
        s2.TrySend(4);
        Assert.AreEqual(4, await receiving.WaitAsync(Bound));
        Assert.AreEqual(0, s2.GetStatistics().TasksWaitingReceive);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_channel_fairness()
    {
        // A sender that was waiting gets its item in before a newcomer's send_nowait.
        var (s, r) = MemoryChannel.Open<int>(1);
        s.TrySend(1);
        var waiting = s.SendAsync(2).AsTask();
        Assert.AreEqual(1, await r.ReceiveAsync());
        Assert.IsFalse(s.TrySend(3), "the slot the receive freed went to the waiting sender");
        await waiting.WaitAsync(Bound);
        Assert.AreEqual(2, await r.ReceiveAsync());

        // Receivers are served in the order they started waiting; a newcomer's receive_nowait does not overtake them.
        var (s0, r0) = MemoryChannel.Open<int>(0);
        var first = r0.ReceiveAsync().AsTask();
        var second = r0.ReceiveAsync().AsTask();
        Assert.IsTrue(s0.TrySend(1));
        Assert.IsTrue(s0.TrySend(2));
        Assert.AreEqual(1, await first.WaitAsync(Bound));
        Assert.AreEqual(2, await second.WaitAsync(Bound));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_unbuffered()
    {
        var (s, r) = MemoryChannel.Open<int>(0);
        Assert.IsFalse(r.TryReceive(out _));
        Assert.IsFalse(s.TrySend(1), "a rendezvous send_nowait with nobody receiving would block");
        var sending = s.SendAsync(1).AsTask();
        Assert.IsFalse(sending.IsCompleted);
        Assert.IsTrue(r.TryReceive(out var item));
        Assert.AreEqual(1, item);
        await sending.WaitAsync(Bound);
        var receiving = r.ReceiveAsync().AsTask();
        Assert.IsTrue(s.TrySend(2));
        Assert.AreEqual(2, await receiving.WaitAsync(Bound));
    }
}
