using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

using FlowKit.Net;
using FlowKit.Tests.TestUtilities;

using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Net;

/// <summary>Reliability family 26: TCP faults on loopback. Runs alone because it counts the process's open file descriptors.</summary>
[TestClass]
[DoNotParallelize]
public sealed class TcpFaultTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(20_000)]
    public async Task PeerResetsMidStream_Receive_ThrowsBrokenStreamAndStaysBroken()
    {
        var (client, server) = await NetFixtures.TcpPairAsync();
        await using var _ = server;
        await client.SendAllAsync(new byte[10]);
        await server.ReadExactlyAsync(5);
        Reset(client);
        await client.DisposeAsync();

        var ex = await Assert.ThrowsExactlyAsync<BrokenStreamException>(async () =>
        {
            var buffer = new byte[64];
            for (var i = 0; i < 100; i++)
            {
                await server.ReceiveSomeAsync(buffer);
            }
        });
        var inner = ex.InnerException as SocketException;
        Assert.IsNotNull(inner, $"inner exception was {ex.InnerException}");
        Assert.AreEqual(SocketError.ConnectionReset, inner.SocketErrorCode);
        await Assert.ThrowsExactlyAsync<BrokenStreamException>(async () => await server.ReceiveSomeAsync(new byte[4]));
        await Assert.ThrowsExactlyAsync<BrokenStreamException>(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await server.SendAllAsync(new byte[1024]);
            }
        });
        TestContext.WriteLine($"family 26 reset mid-stream -> {ex.GetType().Name}({inner.SocketErrorCode})");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task PeerResetsMidFrame_ReadFrames_ThrowsBrokenStream()
    {
        var (client, server) = await NetFixtures.TcpPairAsync();
        await using var _ = server;
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, 100);
        await client.SendAllAsync(header);
        await client.SendAllAsync(new byte[10]);
        await using (var frames = server.ReadFramesAsync(1000).GetAsyncEnumerator())
        {
            var next = frames.MoveNextAsync().AsTask();
            Reset(client);
            await client.DisposeAsync();
            await Assert.ThrowsExactlyAsync<BrokenStreamException>(() => next);
        }

        TestContext.WriteLine("family 26 reset mid-frame -> BrokenStreamException");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task PeerStopsReading_WriterBlocks_MemoryStaysBounded_AndCancelEndsTheWrite()
    {
        var (client, server) = await NetFixtures.TcpPairAsync();
        await using var __ = client;
        await using var _ = server;
        var payload = new byte[64 * 1024 * 1024];
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        using var cts = new CancellationTokenSource();
        var sending = server.SendAllAsync(payload, cts.Token).AsTask();
        Assert.IsFalse(sending.IsCompleted);
        var during = GC.GetTotalMemory(forceFullCollection: true);
        Assert.IsTrue(server.GetStatistics().IsWriting);
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => sending);
        var growth = (during - before) / 1024.0 / 1024.0;
        Assert.IsLessThan(8.0, growth, $"managed memory grew {growth:F1} MB while the peer did not read");
        TestContext.WriteLine($"family 26 peer stops reading: writer blocked, managed growth {growth:F2} MB; cancel -> OperationCanceledException");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ClientOutrunsHandler_ServerBuffersAtMostOneBuffer_ClientIsHeldBack()
    {
        var (client, server) = await NetFixtures.TcpPairAsync();
        await using var __ = client;
        await using var _ = server;
        using var cts = new CancellationTokenSource();
        var flood = client.SendAllAsync(new byte[64 * 1024 * 1024], cts.Token).AsTask();
        Assert.IsFalse(flood.IsCompleted, "a 64 MiB send to a handler that does not read must be held back");
        long maxBuffered = 0;
        var chunks = 0;
        await foreach (var chunk in server.ReadChunksAsync())
        {
            maxBuffered = Math.Max(maxBuffered, server.GetStatistics().BufferedBytes);
            if (++chunks == 50)
            {
                break;
            }
        }

        Assert.IsLessThanOrEqualTo(16 * 1024, maxBuffered);
        Assert.IsFalse(flood.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => flood);
        TestContext.WriteLine($"family 26 fast peer, slow handler: sender held back by TCP flow control; server buffered at most {maxBuffered} bytes");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task SlowWriter_OneBytePer100VirtualMs_LineArrivesWhole()
    {
        var time = new FakeTimeProvider();
        var (client, server) = await NetFixtures.TcpPairAsync();
        await using var __ = client;
        await using var _ = server;
        var ready = new SemaphoreSlim(0);
        var bytes = "slow line\n"u8.ToArray();
        var writer = Task.Run(async () =>
        {
            foreach (var b in bytes)
            {
                await client.SendAllAsync(new[] { b });
                var delay = Task.Delay(TimeSpan.FromMilliseconds(100), time);
                ready.Release();
                await delay;
            }
        });
        var reading = Task.Run(async () =>
        {
            await foreach (var line in server.ReadLinesAsync(100))
            {
                return line;
            }

            return null;
        });
        for (var i = 0; i < bytes.Length; i++)
        {
            await ready.WaitAsync();
            time.Advance(TimeSpan.FromMilliseconds(100));
        }

        await writer;
        Assert.AreEqual("slow line", await reading);
        TestContext.WriteLine($"family 26 slow writer: {bytes.Length} bytes over {bytes.Length * 100} virtual ms -> one whole line");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ConnectToClosedPort_ThrowsSocketExceptionConnectionRefused()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        var ex = await Assert.ThrowsExactlyAsync<SocketException>(() => SocketStream.ConnectTcpAsync("127.0.0.1", port));
        Assert.AreEqual(SocketError.ConnectionRefused, ex.SocketErrorCode);
        TestContext.WriteLine($"family 26 connection refused -> SocketException({ex.SocketErrorCode})");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task CancelDuringConnect_ToFullBacklog_ThrowsOperationCanceled()
    {
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { Backlog = 1 });
        var connected = new List<SocketStream>();
        var cancelled = false;
        try
        {
            for (var i = 0; i < 50 && !cancelled; i++)
            {
                using var cts = new CancellationTokenSource();
                var connect = SocketStream.ConnectTcpAsync(server.LocalEndPoint, cts.Token);
                if (connect.IsCompleted)
                {
                    connected.Add(await connect);
                    continue;
                }

                await cts.CancelAsync();
                try
                {
                    connected.Add(await connect);
                }
                catch (OperationCanceledException)
                {
                    cancelled = true;
                }
            }
        }
        finally
        {
            foreach (var stream in connected)
            {
                await stream.DisposeAsync();
            }
        }

        Assert.IsTrue(cancelled, "no connect was pending once the backlog was full");
        await Assert.ThrowsAsync<OperationCanceledException>(() => SocketStream.ConnectTcpAsync(server.LocalEndPoint, new CancellationToken(true)));
        TestContext.WriteLine($"family 26 cancel during connect -> OperationCanceledException after {connected.Count} connects filled the backlog");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task CancelDuringRead_ThrowsOperationCanceled()
    {
        var (client, server) = await NetFixtures.TcpPairAsync();
        await using var __ = client;
        await using var _ = server;
        using var cts = new CancellationTokenSource();
        var reading = server.ReceiveSomeAsync(new byte[8], cts.Token).AsTask();
        Assert.IsFalse(reading.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => reading);
        TestContext.WriteLine("family 26 cancel during read -> OperationCanceledException");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AcceptBurst_ThousandConnections_BoundedConcurrencyAndNoLeakedDescriptors()
    {
        const int limit = 16;
        var clients = NetFixtures.Stress ? 5000 : 1000;
        await WarmUpAsync();
        var fdsBefore = NetFixtures.OpenFileDescriptors();
        var live = 0;
        var peak = 0;
        long peakMemory = 0;
        using var stop = new CancellationTokenSource();
        var server = SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { MaxConnections = limit, Backlog = 2048 });
        var serving = server.ServeAsync(
            async (stream, ct) =>
            {
                var now = Interlocked.Increment(ref live);
                InterlockedMax(ref peak, now);
                try
                {
                    var buffer = new byte[1];
                    var n = await stream.ReceiveSomeAsync(buffer, ct);
                    await stream.SendAllAsync(buffer.AsMemory(0, n), ct);
                }
                finally
                {
                    Interlocked.Decrement(ref live);
                }
            },
            stop.Token);

        var port = server.LocalEndPoint.Port;
        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
        {
            await using var client = await SocketStream.ConnectTcpAsync("127.0.0.1", port);
            var sent = new[] { (byte)i };
            await client.SendAllAsync(sent);
            var echoed = await client.ReadExactlyAsync(1);
            InterlockedMax(ref peakMemory, GC.GetTotalMemory(false));
            return echoed[0] == sent[0];
        })));

        Assert.IsTrue(results.All(ok => ok));
        var stats = server.GetStatistics();
        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => serving);
        await server.DisposeAsync();
        Assert.AreEqual(clients, stats.AcceptedConnections);
        Assert.AreEqual(0, server.GetStatistics().ActiveConnections);
        Assert.IsLessThanOrEqualTo(limit, peak);
        var fdsAfter = NetFixtures.OpenFileDescriptors();
        Assert.AreEqual(fdsBefore, fdsAfter, "file descriptors leaked");
        TestContext.WriteLine($"family 26 accept burst: {clients} connections, peak concurrent handlers {peak} (limit {limit}), fds {fdsBefore} -> {fdsAfter}, peak managed {peakMemory / 1024 / 1024} MB");
    }

    private static void Reset(SocketStream stream)
    {
        // Linger 0 makes close send RST instead of FIN.
        stream.Socket!.LingerState = new LingerOption(true, 0);
        stream.Socket.Close();
    }

    private static async Task WarmUpAsync()
    {
        var (a, b) = await NetFixtures.TcpPairAsync();
        await a.SendAllAsync(new byte[1]);
        await b.ReadExactlyAsync(1);
        await a.DisposeAsync();
        await b.DisposeAsync();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
