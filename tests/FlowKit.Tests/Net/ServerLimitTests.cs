using System.Net;
using System.Net.Sockets;

using FlowKit.Net;
using FlowKit.Tests.TestUtilities;

using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Net;

/// <summary>The server's per-connection limits on virtual time: each fires no earlier than its limit and by the next heartbeat after
/// it, gives the handler <see cref="ConnectionLimitException"/> (or closes without calling it), and is counted.</summary>
[TestClass]
public sealed class ServerLimitTests
{
    private static readonly TimeSpan Beat = TimeSpan.FromSeconds(1);

    [TestMethod]
    [Timeout(20_000)]
    public async Task IdleTimeout_PeerSendsNothing_ClosedAtTheLimitNotBefore()
    {
        var time = new FakeTimeProvider();
        var options = new SocketServerOptions { TimeProvider = time, IdleTimeout = TimeSpan.FromSeconds(10) };
        await using var harness = await Harness.StartAsync(options, async (stream, ct) =>
        {
            await foreach (var line in stream.ReadLinesAsync(100, ct))
            {
                await stream.WriteLineAsync(line, ct);
            }
        });
        await using var client = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint);
        var served = await harness.NextStreamAsync();
        await WaitUntilAsync(() => served.Guard!.IsReading);

        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.AreEqual(0, harness.Server.GetStatistics().IdleTimeouts, "closed before the idle timeout");
        time.Advance(TimeSpan.FromSeconds(0.1) + Beat);
        var failure = await harness.NextOutcomeAsync();
        Assert.IsInstanceOfType<ConnectionLimitException>(failure);
        Assert.AreEqual(ConnectionLimit.IdleTimeout, ((ConnectionLimitException)failure!).Limit);
        Assert.AreEqual(0, await client.ReceiveSomeAsync(new byte[16]), "the peer sees the connection closed");
        var stats = harness.Server.GetStatistics();
        Assert.AreEqual(1, stats.IdleTimeouts);
        Assert.AreEqual(0, stats.HandlerFailures, "a peer over a limit is not a handler failure");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task IdleTimeout_HeartbeatFiresEarly_NotTakenAsDue()
    {
        // Every beat fires 5 ms before it is due, as system timers can.
        var time = new EarlyTimersTimeProvider(TimeSpan.FromMilliseconds(5));
        var options = new SocketServerOptions { TimeProvider = time, IdleTimeout = TimeSpan.FromSeconds(10) };
        await using var harness = await Harness.StartAsync(options, async (stream, ct) =>
        {
            await foreach (var line in stream.ReadLinesAsync(100, ct))
            {
            }
        });
        await using var client = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint);
        var served = await harness.NextStreamAsync();
        await WaitUntilAsync(() => served.Guard!.IsReading);

        // The beat meant for 10 s comes at 9.995 s: not due yet. The next one, at 10.995 s, is. (A fake clock runs every timer due
        // within one Advance with the clock already at its end, so the clock is moved to each beat in turn.)
        for (var beat = 1; beat <= 10; beat++)
        {
            time.SetUtcNow(time.Start + TimeSpan.FromSeconds(beat) - TimeSpan.FromMilliseconds(5));
        }

        Assert.AreEqual(0, harness.Server.GetStatistics().IdleTimeouts, "an early beat was taken for the deadline");
        time.SetUtcNow(time.Start + TimeSpan.FromSeconds(11) - TimeSpan.FromMilliseconds(5));
        var failure = await harness.NextOutcomeAsync();
        Assert.IsInstanceOfType<ConnectionLimitException>(failure);
        Assert.AreEqual(1, harness.Server.GetStatistics().IdleTimeouts);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task IdleTimeout_ActivePeer_NeverClosed()
    {
        var time = new FakeTimeProvider();
        var options = new SocketServerOptions { TimeProvider = time, IdleTimeout = TimeSpan.FromSeconds(10) };
        await using var harness = await Harness.StartAsync(options, async (stream, ct) =>
        {
            await foreach (var line in stream.ReadLinesAsync(100, ct))
            {
                await stream.WriteLineAsync(line, ct);
            }
        });
        await using var client = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint);
        var served = await harness.NextStreamAsync();
        var replies = client.ReadLinesAsync(100).GetAsyncEnumerator();

        // A line every 6 virtual seconds, for a minute: each read waits less than the limit.
        for (var i = 0; i < 10; i++)
        {
            await WaitUntilAsync(() => served.Guard!.IsReading);
            time.Advance(TimeSpan.FromSeconds(6));
            await client.WriteLineAsync($"ping {i}");
            Assert.IsTrue(await replies.MoveNextAsync());
            Assert.AreEqual($"ping {i}", replies.Current);
        }

        Assert.AreEqual(0, harness.Server.GetStatistics().IdleTimeouts);
        await replies.DisposeAsync();
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task IdleTimeout_PeerNeverReads_WriterClosed()
    {
        var time = new FakeTimeProvider();
        var options = new SocketServerOptions { TimeProvider = time, IdleTimeout = TimeSpan.FromSeconds(10) };
        var payload = new byte[64 * 1024 * 1024];
        await using var harness = await Harness.StartAsync(options, (stream, ct) => stream.SendAllAsync(payload, ct).AsTask());
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await client.ConnectAsync(harness.Server.LocalEndPoint);
        var served = await harness.NextStreamAsync();

        // The peer's window fills and the write stops making progress. Until it has (the kernel may still be taking bytes when the
        // clock moves, and each 64 KiB piece taken counts as progress), moving the clock may find the write alive: move it again.
        await WaitUntilAsync(() => served.Guard!.IsWriting && served.GetStatistics().IsWriting);
        var outcome = harness.NextOutcomeAsync();
        for (var i = 0; i < 50 && !outcome.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(11) + Beat);
            await Task.WhenAny(outcome, Task.Delay(100));
        }

        var failure = await outcome;
        Assert.IsInstanceOfType<ConnectionLimitException>(failure);
        Assert.AreEqual(ConnectionLimit.IdleTimeout, ((ConnectionLimitException)failure!).Limit);
        Assert.AreEqual(1, harness.Server.GetStatistics().IdleTimeouts);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task MinDataRate_Slowloris_ClosedAfterGracePeriod_FastPeerNot()
    {
        var time = new FakeTimeProvider();
        var options = new SocketServerOptions
        {
            TimeProvider = time, IdleTimeout = null, MinDataRate = 100, MinDataRateGracePeriod = TimeSpan.FromSeconds(3),
        };
        await using var harness = await Harness.StartAsync(options, async (stream, ct) =>
        {
            await foreach (var line in stream.ReadLinesAsync(100_000, ct))
            {
                await stream.WriteLineAsync($"got {line.Length}", ct);
            }
        });

        // A good peer: 300 bytes per virtual second of one long line (above 100 B/s), then its end: served.
        await using (var good = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint))
        {
            var served = await harness.NextStreamAsync();
            for (var i = 0; i < 8; i++)
            {
                var before = served.Guard!.BytesReceived;
                await good.SendAllAsync(new byte[300].Select(_ => (byte)'a').ToArray());
                await WaitUntilAsync(() => served.Guard!.BytesReceived >= before + 300 && served.Guard.IsReading && served.Guard.InRecord);
                time.Advance(TimeSpan.FromSeconds(1));
            }

            await good.WriteLineAsync(string.Empty);
            Assert.AreEqual("got 2400", await FirstLineAsync(good));
            Assert.AreEqual(0, harness.Server.GetStatistics().MinDataRateCloses);
        }

        // A slowloris: 10 bytes per virtual second of a line that never ends.
        await using var slow = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint);
        var slowServed = await harness.NextStreamAsync();
        for (var second = 1; second <= 3; second++)
        {
            var before = slowServed.Guard!.BytesReceived;
            await slow.SendAllAsync("xxxxxxxxxx"u8.ToArray());
            await WaitUntilAsync(() => slowServed.Guard!.BytesReceived >= before + 10 && slowServed.Guard.IsReading && slowServed.Guard.InRecord);
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.AreEqual(0, harness.Server.GetStatistics().MinDataRateCloses, $"closed within the grace period (second {second})");
        }

        time.Advance(Beat + Beat);
        var outcome = await harness.NextOutcomeAsync();
        Assert.IsNull(outcome, "the good peer's handler ended normally");
        var failure = await harness.NextOutcomeAsync();
        Assert.IsInstanceOfType<ConnectionLimitException>(failure);
        Assert.AreEqual(ConnectionLimit.MinDataRate, ((ConnectionLimitException)failure!).Limit);
        Assert.AreEqual(1, harness.Server.GetStatistics().MinDataRateCloses);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task HandshakeTimeout_StalledTlsClient_ClosedWithoutCallingHandler()
    {
        var time = new FakeTimeProvider();
        var options = new SocketServerOptions
        {
            TimeProvider = time,
            HandshakeTimeout = TimeSpan.FromSeconds(10),
            Tls = new System.Net.Security.SslServerAuthenticationOptions { ServerCertificate = NetFixtures.Certificate },
        };
        var called = 0;
        await using var harness = await Harness.StartAsync(options, (stream, ct) =>
        {
            Interlocked.Increment(ref called);
            return stream.WriteLineAsync("hello", ct).AsTask();
        });

        // A TLS record header announcing a ClientHello that never comes.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await stalled.ConnectAsync(harness.Server.LocalEndPoint);
        await stalled.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0x02, 0x00 });
        await WaitUntilAsync(() => harness.Server.GetStatistics().WatchedConnections == 1 && harness.Server.GetStatistics().ActiveConnections == 1);
        await WaitUntilAsync(() => harness.Watched().Any(g => g.InHandshake && g.IsReading));
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.AreEqual(0, harness.Server.GetStatistics().HandshakeTimeouts, "closed before the handshake timeout");
        time.Advance(TimeSpan.FromSeconds(0.1) + Beat);
        Assert.AreEqual(0, await stalled.ReceiveAsync(new byte[16]), "the stalled peer is disconnected");
        await WaitUntilAsync(() => harness.Server.GetStatistics().ActiveConnections == 0);
        Assert.AreEqual(1, harness.Server.GetStatistics().HandshakeTimeouts);
        Assert.AreEqual(0, Volatile.Read(ref called));

        // A real TLS client is still served, through the handshake the server runs.
        await using var good = await SocketStream.ConnectTlsAsync("127.0.0.1", harness.Server.LocalEndPoint.Port, NetFixtures.ClientOptions());
        Assert.AreEqual("hello", await FirstLineAsync(good));
        Assert.AreEqual(1, Volatile.Read(ref called));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task MaxConnectionsPerAddress_ExtraConnectionsClosedAndCounted_OtherAddressesServed()
    {
        var options = new SocketServerOptions { MaxConnectionsPerAddress = 2 };
        await using var harness = await Harness.StartAsync(options, async (stream, ct) =>
        {
            await stream.WriteLineAsync("hi", ct);
            await stream.ReceiveSomeAsync(new byte[16], ct);
        });
        var a = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint);
        var b = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint);
        Assert.AreEqual("hi", await FirstLineAsync(a));
        Assert.AreEqual("hi", await FirstLineAsync(b));
        await using (var c = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint))
        {
            Assert.AreEqual(0, await c.ReceiveSomeAsync(new byte[16]), "a third connection from one address is closed");
        }

        Assert.AreEqual(1, harness.Server.GetStatistics().RejectedConnections);

        // Another loopback address has its own count.
        using (var other = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            other.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            await other.ConnectAsync(harness.Server.LocalEndPoint);
            await using var otherStream = SocketStream.FromSocket(other);
            Assert.AreEqual("hi", await FirstLineAsync(otherStream));
        }

        // A closed connection frees its place.
        await a.DisposeAsync();
        await WaitUntilAsync(() => harness.Server.GetStatistics().ActiveConnections == 1);
        await using var d = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint);
        Assert.AreEqual("hi", await FirstLineAsync(d));
        Assert.AreEqual(1, harness.Server.GetStatistics().RejectedConnections);
        await b.DisposeAsync();
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task MaxBufferedBytes_HandlerLimitLargerThanServers_ReaderStoppedWithClearException()
    {
        var options = new SocketServerOptions { MaxBufferedBytesPerConnection = 4096 };
        await using var harness = await Harness.StartAsync(options, async (stream, ct) =>
        {
            await foreach (var line in stream.ReadLinesAsync(1_000_000, ct))
            {
                await stream.WriteLineAsync(line, ct);
            }
        });
        await using var client = await SocketStream.ConnectTcpAsync(harness.Server.LocalEndPoint);
        await client.WriteLineAsync("short");
        Assert.AreEqual("short", await FirstLineAsync(client));
        await client.SendAllAsync(new byte[20_000]);
        var failure = await harness.NextOutcomeAsync();
        Assert.IsInstanceOfType<ConnectionLimitException>(failure);
        Assert.AreEqual(ConnectionLimit.MaxBufferedBytes, ((ConnectionLimitException)failure!).Limit);
        Assert.AreEqual(1, harness.Server.GetStatistics().BufferLimitHits);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Options_InvalidLimits_Rejected()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { IdleTimeout = TimeSpan.Zero }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { HandshakeTimeout = TimeSpan.FromSeconds(-1) }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { MinDataRate = double.NaN }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { MaxConnectionsPerAddress = 0 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { MaxBufferedBytesPerConnection = 10 }));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Options_Defaults_AreSafeForAPublicPort()
    {
        var defaults = new SocketServerOptions();
        Assert.AreEqual(TimeSpan.FromSeconds(10), defaults.HandshakeTimeout);
        Assert.AreEqual(TimeSpan.FromMinutes(2), defaults.IdleTimeout);
        Assert.AreEqual(240d, defaults.MinDataRate);
        Assert.AreEqual(TimeSpan.FromSeconds(5), defaults.MinDataRateGracePeriod);
        Assert.AreEqual(1024 * 1024, defaults.MaxBufferedBytesPerConnection);
        Assert.AreEqual(TimeSpan.FromSeconds(1), defaults.HeartbeatPeriod);
    }

    /// <summary>A fake clock whose timers fire <paramref name="lag"/> before they are due (every period, from the first).</summary>
    private sealed class EarlyTimersTimeProvider(TimeSpan lag) : FakeTimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            base.CreateTimer(callback, state, dueTime > lag ? dueTime - lag : TimeSpan.Zero, period);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        // Bounded polling of a state another thread sets (no completion signal exists for "a read is pending").
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("The condition was not reached within 10 s.");
            }

            await Task.Delay(1);
        }
    }

    private static async Task<string?> FirstLineAsync(SocketStream stream)
    {
        await foreach (var line in stream.ReadLinesAsync(4096))
        {
            return line;
        }

        return null;
    }

    /// <summary>A server under ServeAsync whose handler's streams and outcomes (null = returned normally, else its exception) the test
    /// can await in order.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly System.Threading.Channels.Channel<SocketStream> _streams = System.Threading.Channels.Channel.CreateUnbounded<SocketStream>();
        private readonly System.Threading.Channels.Channel<Exception?> _outcomes = System.Threading.Channels.Channel.CreateUnbounded<Exception?>();
        private readonly CancellationTokenSource _stop = new();
        private readonly List<SocketStream> _all = [];
        private Task _serving = Task.CompletedTask;

        private Harness(SocketServer server) => Server = server;

        public SocketServer Server { get; }

        public static Task<Harness> StartAsync(SocketServerOptions options, Func<SocketStream, CancellationToken, Task> handler)
        {
            var harness = new Harness(SocketServer.ListenTcp(IPAddress.Loopback, 0, options));
            harness._serving = harness.Server.ServeAsync(
                async (stream, ct) =>
                {
                    lock (harness._all)
                    {
                        harness._all.Add(stream);
                    }

                    harness._streams.Writer.TryWrite(stream);
                    try
                    {
                        await handler(stream, ct);
                        harness._outcomes.Writer.TryWrite(null);
                    }
                    catch (Exception ex)
                    {
                        harness._outcomes.Writer.TryWrite(ex);
                        throw;
                    }
                },
                harness._stop.Token);
            return Task.FromResult(harness);
        }

        public IEnumerable<ConnectionGuard> Watched() => Server.WatchedGuards();

        public async Task<SocketStream> NextStreamAsync() => await _streams.Reader.ReadAsync();

        public async Task<Exception?> NextOutcomeAsync() => await _outcomes.Reader.ReadAsync();

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _serving;
            }
            catch (OperationCanceledException)
            {
            }

            await Server.DisposeAsync();
            _stop.Dispose();
        }
    }
}
