using System.Net;
using System.Net.Sockets;

using FlowKit.Net;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Net;

[TestClass]
public sealed class SocketServerTests
{
    [TestMethod]
    [Timeout(20_000)]
    public async Task ServeAsync_HandlerThrows_ConnectionClosedAndReported_ServerGoesOn()
    {
        var reported = new TaskCompletionSource<ConnectionFailedContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new SocketServerOptions { OnConnectionFailed = c => { reported.TrySetResult(c); return ValueTask.CompletedTask; } };
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0, options);
        using var stop = new CancellationTokenSource();
        var serving = server.ServeAsync(
            async (stream, ct) =>
            {
                var line = await FirstLineAsync(stream, ct);
                if (line == "boom")
                {
                    throw new InvalidOperationException("handler failed");
                }

                await stream.WriteLineAsync("echo " + line, ct);
            },
            stop.Token);

        await using (var bad = await SocketStream.ConnectTcpAsync(server.LocalEndPoint))
        {
            await bad.WriteLineAsync("boom");
            Assert.AreEqual(0, await bad.ReceiveSomeAsync(new byte[16]));
        }

        var failure = await reported.Task;
        Assert.IsInstanceOfType<InvalidOperationException>(failure.Exception);
        Assert.IsNotNull(failure.RemoteEndPoint);

        await using (var good = await SocketStream.ConnectTcpAsync(server.LocalEndPoint))
        {
            await good.WriteLineAsync("hi");
            Assert.AreEqual("echo hi", await FirstLineAsync(good, default));
        }

        Assert.AreEqual(1, server.GetStatistics().HandlerFailures);
        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => serving);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ServeAsync_Cancelled_CancelsHandlersAndReturnsOnlyWhenAllClosed()
    {
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
        using var stop = new CancellationTokenSource();
        var started = new CountdownEvent(3);
        var finished = 0;
        var serving = server.ServeAsync(
            async (stream, ct) =>
            {
                started.Signal();
                try
                {
                    await stream.ReceiveSomeAsync(new byte[16], ct);
                }
                finally
                {
                    Interlocked.Increment(ref finished);
                }
            },
            stop.Token);
        var clients = new List<SocketStream>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(await SocketStream.ConnectTcpAsync(server.LocalEndPoint));
        }

        await Task.Run(() => started.Wait());
        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => serving);
        Assert.AreEqual(3, Volatile.Read(ref finished));
        Assert.AreEqual(0, server.GetStatistics().ActiveConnections);
        foreach (var client in clients)
        {
            Assert.AreEqual(0, await client.ReceiveSomeAsync(new byte[4]));
            await client.DisposeAsync();
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ServeAsync_ServerDisposed_ReturnsNormally()
    {
        var server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
        var serving = server.ServeAsync((stream, ct) => stream.ReceiveSomeAsync(new byte[1], ct).AsTask());
        await using var client = await SocketStream.ConnectTcpAsync(server.LocalEndPoint);
        await server.DisposeAsync();
        await serving;
        Assert.IsFalse(server.GetStatistics().IsListening);
    }

    [TestMethod]
    [Timeout(20_000)]
    [DataRow(1)]
    [DataRow(2)]
    public async Task ServeAsync_SaturatedServerDisposed_CancelsHandlersAndReturns(int maxConnections)
    {
        // Every slot taken: the accept loop waits for a free slot, and disposing must reach that wait too.
        var server = SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { MaxConnections = maxConnections });
        var started = new CountdownEvent(maxConnections);
        var cancelled = 0;
        var serving = server.ServeAsync(async (stream, ct) =>
        {
            started.Signal();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref cancelled);
                throw;
            }
        });
        var clients = new List<SocketStream>();
        for (var i = 0; i < maxConnections; i++)
        {
            clients.Add(await SocketStream.ConnectTcpAsync(server.LocalEndPoint));
        }

        Assert.IsTrue(await Task.Run(() => started.Wait(10_000)), "handlers did not start");
        await server.DisposeAsync();
        Assert.AreSame(serving, await Task.WhenAny(serving, Task.Delay(10_000)), "ServeAsync did not return after the server was disposed");
        await serving;
        Assert.AreEqual(maxConnections, Volatile.Read(ref cancelled));
        Assert.AreEqual(0, server.GetStatistics().ActiveConnections);
        foreach (var client in clients)
        {
            Assert.AreEqual(0, await client.ReceiveSomeAsync(new byte[1]));
            await client.DisposeAsync();
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ServeAsync_FloodOfAbortedConnections_DoesNotThrottleAccepting()
    {
        // Clients that abort before they are accepted (ECONNABORTED, ECONNRESET from accept) are skipped at once, as Trio does: the
        // clock never moves here, so any pause after one of them would stall the good client for good.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { TimeProvider = time });
        const int aborted = 1_000;
        var injected = 0;
        server.AcceptHook = (listener, ct) => Interlocked.Increment(ref injected) <= aborted
            ? ValueTask.FromException<Socket>(new SocketException((int)(injected % 2 == 0 ? SocketError.ConnectionAborted : SocketError.ConnectionReset)))
            : listener.AcceptAsync(ct);
        using var stop = new CancellationTokenSource();
        var serving = server.ServeAsync((stream, ct) => stream.WriteLineAsync("hi", ct).AsTask(), stop.Token);
        await using (var client = await SocketStream.ConnectTcpAsync(server.LocalEndPoint))
        {
            var line = FirstLineAsync(client, default);
            Assert.AreSame(line, await Task.WhenAny(line, Task.Delay(10_000)), "the good client was not served");
            Assert.AreEqual("hi", await line);
        }

        Assert.AreEqual(aborted, server.GetStatistics().AbortedAccepts);
        Assert.AreEqual(1, server.GetStatistics().AcceptedConnections);
        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => serving);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ServeAsync_MaxConnections_LaterClientsWaitForASlot()
    {
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { MaxConnections = 2 });
        using var stop = new CancellationTokenSource();
        var gates = new SemaphoreSlim(0);
        var startedCount = 0;
        var serving = server.ServeAsync(
            async (stream, ct) =>
            {
                Interlocked.Increment(ref startedCount);
                gates.Release();
                await FirstLineAsync(stream, ct);
            },
            stop.Token);
        var a = await SocketStream.ConnectTcpAsync(server.LocalEndPoint);
        var b = await SocketStream.ConnectTcpAsync(server.LocalEndPoint);
        var c = await SocketStream.ConnectTcpAsync(server.LocalEndPoint);
        await gates.WaitAsync();
        await gates.WaitAsync();
        Assert.AreEqual(2, server.GetStatistics().ActiveConnections);
        Assert.AreEqual(2, server.GetStatistics().AcceptedConnections);
        await a.WriteLineAsync("done");
        await gates.WaitAsync();
        Assert.AreEqual(3, Volatile.Read(ref startedCount));
        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => serving);
        await a.DisposeAsync();
        await b.DisposeAsync();
        await c.DisposeAsync();
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ServeAsync_IdleClient_DoesNotDelayOthers()
    {
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
        using var stop = new CancellationTokenSource();
        var serving = server.ServeAsync(async (stream, ct) =>
        {
            await foreach (var line in stream.ReadLinesAsync(100, ct))
            {
                await stream.WriteLineAsync(line, ct);
            }
        }, stop.Token);
        await using var idle = await SocketStream.ConnectTcpAsync(server.LocalEndPoint);
        for (var i = 0; i < 20; i++)
        {
            await using var client = await SocketStream.ConnectTcpAsync(server.LocalEndPoint);
            await client.WriteLineAsync($"n{i}");
            Assert.AreEqual($"n{i}", await FirstLineAsync(client, default));
        }

        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => serving);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task AcceptAllAsync_YieldsEachConnection_EndsOnCancel()
    {
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
        using var stop = new CancellationTokenSource();
        var accepted = 0;
        var accepting = Task.Run(async () =>
        {
            await foreach (var stream in server.AcceptAllAsync(stop.Token))
            {
                await using (stream)
                {
                    await stream.SendAllAsync(new[] { (byte)accepted });
                }

                if (++accepted == 3)
                {
                    await stop.CancelAsync();
                }
            }
        });
        for (var i = 0; i < 3; i++)
        {
            await using var client = await SocketStream.ConnectTcpAsync(server.LocalEndPoint);
            Assert.AreEqual((byte)i, (await client.ReadExactlyAsync(1))[0]);
        }

        await accepting;
        Assert.AreEqual(3, accepted);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ListenUnix_ServesAndRemovesSocketFileOnDispose()
    {
        var path = Path.Combine(Path.GetTempPath(), $"flowkit-{Guid.NewGuid():N}.sock");
        var server = SocketServer.ListenUnix(path);
        Assert.IsInstanceOfType<UnixDomainSocketEndPoint>(server.EndPoint);
        Assert.ThrowsExactly<InvalidOperationException>(() => server.LocalEndPoint);
        var serving = server.ServeAsync(async (stream, ct) => await stream.WriteLineAsync("unix", ct));
        await using (var client = await SocketStream.ConnectUnixAsync(path))
        {
            Assert.AreEqual("unix", await FirstLineAsync(client, default));
        }

        await server.DisposeAsync();
        await serving;
        Assert.IsFalse(File.Exists(path));
    }

    [TestMethod]
    [Timeout(20_000)]
    [DataRow("localhost")]
    [DataRow("127.0.0.1")]
    [DataRow("::1")]
    public async Task ConnectTcp_HostNamesAndBothFamilies_ReachDualModeServer(string host)
    {
        await using var server = SocketServer.ListenTcp(IPAddress.IPv6Any, 0);
        var accept = server.AcceptAsync().AsTask();
        await using var client = await SocketStream.ConnectTcpAsync(host, server.LocalEndPoint.Port);
        await using var served = await accept;
        await client.WriteLineAsync(host);
        Assert.AreEqual(host, await FirstLineAsync(served, default));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Tls_ConnectTlsAsync_ServesOverSelfSignedCertificate()
    {
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
        using var stop = new CancellationTokenSource();
        var serving = server.ServeAsync(async (plain, ct) =>
        {
            await using var tls = await plain.AuthenticateAsServerAsync(new System.Net.Security.SslServerAuthenticationOptions { ServerCertificate = NetFixtures.Certificate }, ct);
            await foreach (var frame in tls.ReadFramesAsync(1024, ct))
            {
                await tls.WriteFrameAsync(frame, ct);
            }
        }, stop.Token);
        await using var client = await SocketStream.ConnectTlsAsync("localhost", server.LocalEndPoint.Port, NetFixtures.ClientOptions());
        Assert.IsTrue(client.IsEncrypted);
        await client.WriteFrameAsync("secret"u8.ToArray());
        await foreach (var frame in client.ReadFramesAsync(1024))
        {
            CollectionAssert.AreEqual("secret"u8.ToArray(), frame.ToArray());
            break;
        }

        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => serving);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Tls_UntrustedCertificate_ThrowsAuthenticationException()
    {
        var (client, server) = await NetFixtures.TcpPairAsync();
        var serverSide = server.AuthenticateAsServerAsync(new System.Net.Security.SslServerAuthenticationOptions { ServerCertificate = NetFixtures.Certificate });
        var options = new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "localhost" };
        await Assert.ThrowsExactlyAsync<System.Security.Authentication.AuthenticationException>(() => client.AuthenticateAsClientAsync(options));
        try
        {
            // With TLS 1.3 the server may finish its side before the client rejects the certificate.
            await (await serverSide).DisposeAsync();
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
        }
    }

    private static async Task<string?> FirstLineAsync(SocketStream stream, CancellationToken ct)
    {
        await foreach (var line in stream.ReadLinesAsync(1024, ct))
        {
            return line;
        }

        return null;
    }
}
