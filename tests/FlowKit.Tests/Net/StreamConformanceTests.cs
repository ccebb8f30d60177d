using System.Diagnostics;

using FlowKit.Net;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Net;

/// <summary>
/// Reliability family 24: the half-closeable stream contract (Trio's <c>check_half_closeable_stream</c>), run by every transport.
/// Each derived class supplies a connected pair.
/// </summary>
public abstract class StreamConformanceTests
{
    private SocketStream? _a;
    private SocketStream? _b;

    public TestContext TestContext { get; set; } = null!;

    protected abstract string Transport { get; }

    /// <summary>Whether writes to a peer that has closed are detected (always eventually true; TCP needs a few writes).</summary>
    protected abstract Task<(SocketStream A, SocketStream B)> CreatePairAsync();

    [TestCleanup]
    public async Task CleanupAsync()
    {
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task SendAll_ThenReceiveSome_DeliversBytesInOrder()
    {
        var (a, b) = await PairAsync();
        // Sends run beside the reads: a lockstep stream's send waits until the peer has read everything.
        var send = a.SendAllAsync("hello"u8.ToArray()).AsTask();
        var received = await b.ReadExactlyAsync(5);
        await send;
        CollectionAssert.AreEqual("hello"u8.ToArray(), received);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ConcurrentReads_SecondReader_ThrowsBusyStreamException()
    {
        var (_, b) = await PairAsync();
        using var cts = new CancellationTokenSource();
        var first = b.ReceiveSomeAsync(new byte[16], cts.Token).AsTask();
        await Assert.ThrowsExactlyAsync<BusyStreamException>(async () => await b.ReceiveSomeAsync(new byte[16]));
        await using var lines = b.ReadLinesAsync(100).GetAsyncEnumerator();
        await Assert.ThrowsExactlyAsync<BusyStreamException>(async () => await lines.MoveNextAsync());
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => first);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ConcurrentWrites_SecondWriter_ThrowsBusyStreamException()
    {
        var (a, _) = await PairAsync();
        using var cts = new CancellationTokenSource();

        // The peer never reads, so this write stays pending while the second one is attempted.
        var first = a.SendAllAsync(new byte[64 * 1024 * 1024], cts.Token).AsTask();
        Assert.IsFalse(first.IsCompleted);
        await Assert.ThrowsExactlyAsync<BusyStreamException>(async () => await a.SendAllAsync(new byte[1]));
        await Assert.ThrowsExactlyAsync<BusyStreamException>(async () => await a.WriteLineAsync("x"));
        await Assert.ThrowsExactlyAsync<BusyStreamException>(async () => await a.SendEofAsync());
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => first);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task CancelledReceive_LeavesStreamUsable()
    {
        var (a, b) = await PairAsync();
        for (var i = 0; i < 20; i++)
        {
            using var cts = new CancellationTokenSource();
            var pending = b.ReceiveSomeAsync(new byte[16], cts.Token).AsTask();
            await cts.CancelAsync();
            await Assert.ThrowsAsync<OperationCanceledException>(() => pending);
        }

        var send = a.SendAllAsync("x"u8.ToArray()).AsTask();
        CollectionAssert.AreEqual("x"u8.ToArray(), await b.ReadExactlyAsync(1));
        await send;
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task PeerClose_Receive_ReturnsEndOfStreamAndStaysThere()
    {
        var (a, b) = await PairAsync();
        await a.DisposeAsync();
        Assert.AreEqual(0, await b.ReceiveSomeAsync(new byte[16]));
        Assert.AreEqual(0, await b.ReceiveSomeAsync(new byte[16]));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task PeerClose_Send_ThrowsBrokenStreamExceptionAndStaysBroken()
    {
        var (a, b) = await PairAsync();
        await b.DisposeAsync();
        var chunk = new byte[64 * 1024];

        // A socket learns that its peer is gone from the peer's reset, so the first writes may still be accepted.
        var attempts = 0;
        var broken = await Assert.ThrowsExactlyAsync<BrokenStreamException>(async () =>
        {
            for (attempts = 1; attempts <= 1000; attempts++)
            {
                await a.SendAllAsync(chunk);
            }
        });
        Assert.IsTrue(attempts <= 1000);
        await Assert.ThrowsExactlyAsync<BrokenStreamException>(async () => await a.SendAllAsync(chunk));
        TestContext.WriteLine($"family 24 [{Transport}] peer close -> {broken.GetType().Name} after {attempts} writes (inner {broken.InnerException?.GetType().Name})");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task OwnClose_EveryOperation_ThrowsObjectDisposedException()
    {
        var (a, _) = await PairAsync();
        await a.DisposeAsync();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(async () => await a.SendAllAsync(ReadOnlyMemory<byte>.Empty));
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(async () => await a.SendAllAsync(new byte[1]));
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(async () => await a.ReceiveSomeAsync(new byte[1]));
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(async () => await a.SendEofAsync());
        Assert.ThrowsExactly<ObjectDisposedException>(() => a.ReadLinesAsync(10));
        Assert.IsTrue(a.GetStatistics().IsClosed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Close_Twice_IsFine()
    {
        var (a, _) = await PairAsync();
        await a.DisposeAsync();
        await a.DisposeAsync();
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Close_AfterCancelledOperation_StillClosesAndPeerSeesEnd()
    {
        var (a, b) = await PairAsync();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await a.ReceiveSomeAsync(new byte[4], cts.Token));
        await a.DisposeAsync();
        Assert.AreEqual(0, await b.ReceiveSomeAsync(new byte[4]));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Close_WakesBlockedReader_WithObjectDisposedException()
    {
        // Repeated: closing the socket under a pending read once ended that read with 0 bytes (an end of stream) about 1 time in 9
        // on the thread-pool transport, instead of the documented ObjectDisposedException.
        for (var i = 0; i < 100; i++)
        {
            var (a, b) = await CreatePairAsync();
            await using (b)
            {
                var pending = a.ReceiveSomeAsync(new byte[16]).AsTask();
                Assert.IsFalse(pending.IsCompleted);
                await a.DisposeAsync();
                await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => pending, $"{Transport}, iteration {i}");
            }
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Close_WakesBlockedLineReader_WithObjectDisposedException()
    {
        for (var i = 0; i < 100; i++)
        {
            var (a, b) = await CreatePairAsync();
            await using (b)
            {
                var lines = a.ReadLinesAsync(1024).GetAsyncEnumerator();
                var pending = lines.MoveNextAsync().AsTask();
                Assert.IsFalse(pending.IsCompleted);
                await a.DisposeAsync();
                await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => pending, $"{Transport}, iteration {i}");
                await lines.DisposeAsync();
            }
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Close_WakesBlockedWriter_WithObjectDisposedException()
    {
        var (a, _) = await PairAsync();

        // Far more than any socket buffer: the peer never reads, so this write must block.
        var pending = a.SendAllAsync(new byte[64 * 1024 * 1024]).AsTask();
        Assert.IsFalse(pending.IsCompleted);
        await a.DisposeAsync();
        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => pending);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task SendEof_PeerReadsEnd_AndCanStillAnswer()
    {
        var (a, b) = await PairAsync();
        var send = Task.Run(async () =>
        {
            await a.SendAllAsync("ping"u8.ToArray());
            await a.SendEofAsync();
            await a.SendEofAsync();
        });
        CollectionAssert.AreEqual("ping"u8.ToArray(), await b.ReadExactlyAsync(4));
        Assert.AreEqual(0, await b.ReceiveSomeAsync(new byte[4]));
        await send;
        var answer = b.SendAllAsync("pong"u8.ToArray()).AsTask();
        CollectionAssert.AreEqual("pong"u8.ToArray(), await a.ReadExactlyAsync(4));
        await answer;
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(async () => await a.SendAllAsync(new byte[1]));
        Assert.IsTrue(a.GetStatistics().EofSent);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Duplex_OneMebibyteEachWay_InRandomChunks_ArrivesIntact()
    {
        var (a, b) = await PairAsync();
        const int size = 1 << 20;
        var fromA = NetFixtures.RandomBytes(size, 1);
        var fromB = NetFixtures.RandomBytes(size, 2);
        var watch = Stopwatch.StartNew();
        var results = await Task.WhenAll(
            Task.Run(() => SendInChunksAsync(a, fromA, seed: 3)),
            Task.Run(() => SendInChunksAsync(b, fromB, seed: 4)),
            Task.Run(() => ReceiveAllAsync(b, size)),
            Task.Run(() => ReceiveAllAsync(a, size)));
        watch.Stop();
        CollectionAssert.AreEqual(fromA, results[2]);
        CollectionAssert.AreEqual(fromB, results[3]);
        TestContext.WriteLine($"family 24 [{Transport}] duplex 2 x 1 MiB: {2.0 * size / (1 << 20) / watch.Elapsed.TotalSeconds:F1} MB/s");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task LinesAndFrames_RoundTrip()
    {
        var (a, b) = await PairAsync();
        var send = Task.Run(async () =>
        {
            await a.WriteLineAsync("first");
            await a.WriteLineAsync("zweite Zeile ü");
            await a.WriteLineAsync(string.Empty);
            await a.SendEofAsync();
        });
        var lines = new List<string>();
        await foreach (var line in b.ReadLinesAsync(100))
        {
            lines.Add(line);
        }

        await send;
        CollectionAssert.AreEqual(new[] { "first", "zweite Zeile ü", string.Empty }, lines);

        var frames = new[] { Array.Empty<byte>(), NetFixtures.RandomBytes(10, 5), NetFixtures.RandomBytes(100_000, 6) };
        var sendFrames = Task.Run(async () =>
        {
            foreach (var frame in frames)
            {
                await b.WriteFrameAsync(frame);
            }

            await b.SendEofAsync();
        });
        var received = new List<byte[]>();
        await foreach (var frame in a.ReadFramesAsync(1 << 20))
        {
            received.Add(frame.ToArray());
        }

        await sendFrames;
        Assert.HasCount(3, received);
        for (var i = 0; i < frames.Length; i++)
        {
            CollectionAssert.AreEqual(frames[i], received[i]);
        }
    }

    private static async Task<byte[]> SendInChunksAsync(SocketStream stream, byte[] data, int seed)
    {
        var random = new Random(seed);
        for (var offset = 0; offset < data.Length;)
        {
            var length = Math.Min(random.Next(1, 16 * 1024 + 1), data.Length - offset);
            await stream.SendAllAsync(data.AsMemory(offset, length));
            offset += length;
        }

        return [];
    }

    private static async Task<byte[]> ReceiveAllAsync(SocketStream stream, int size)
    {
        var result = new byte[size];
        var filled = 0;
        while (filled < size)
        {
            var n = await stream.ReceiveSomeAsync(result.AsMemory(filled, Math.Min(16 * 1024, size - filled)));
            Assert.AreNotEqual(0, n);
            filled += n;
        }

        return result;
    }

    private async Task<(SocketStream A, SocketStream B)> PairAsync()
    {
        (_a, _b) = await CreatePairAsync();
        return (_a, _b);
    }
}

[TestClass]
public sealed class MemoryStreamConformanceTests : StreamConformanceTests
{
    protected override string Transport => "memory";

    protected override Task<(SocketStream A, SocketStream B)> CreatePairAsync() => Task.FromResult(SocketStream.CreateMemoryPair());
}

[TestClass]
public sealed class LockstepMemoryStreamConformanceTests : StreamConformanceTests
{
    protected override string Transport => "memory-lockstep";

    protected override Task<(SocketStream A, SocketStream B)> CreatePairAsync() => Task.FromResult(SocketStream.CreateMemoryPair(capacity: 0));
}

[TestClass]
public sealed class TcpStreamConformanceTests : StreamConformanceTests
{
    protected override string Transport => "tcp";

    protected override Task<(SocketStream A, SocketStream B)> CreatePairAsync() => NetFixtures.TcpPairAsync();
}

[TestClass]
public sealed class TcpThreadPoolStreamConformanceTests : StreamConformanceTests
{
    protected override string Transport => "tcp-threadpool";

    protected override Task<(SocketStream A, SocketStream B)> CreatePairAsync() => NetFixtures.TcpPairAsync(inlineCompletions: false);
}

[TestClass]
public sealed class TcpIPv6StreamConformanceTests : StreamConformanceTests
{
    protected override string Transport => "tcp-ipv6";

    protected override Task<(SocketStream A, SocketStream B)> CreatePairAsync() => NetFixtures.TcpPairAsync(System.Net.IPAddress.IPv6Loopback);
}

[TestClass]
public sealed class UnixStreamConformanceTests : StreamConformanceTests
{
    protected override string Transport => "unix";

    protected override Task<(SocketStream A, SocketStream B)> CreatePairAsync() => NetFixtures.UnixPairAsync();
}

[TestClass]
public sealed class TlsStreamConformanceTests : StreamConformanceTests
{
    protected override string Transport => "tls";

    protected override Task<(SocketStream A, SocketStream B)> CreatePairAsync() => NetFixtures.TlsPairAsync();
}
