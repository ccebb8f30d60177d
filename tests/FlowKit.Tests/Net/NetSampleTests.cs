using System.Globalization;

using FlowKit.Net;
using FlowKit.Samples;
using FlowKit.Samples.Net;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Net;

/// <summary>The echo-server, echo-client and chat samples, run in process.</summary>
[TestClass]
public sealed class NetSampleTests
{
    public const string Message = "b'async can sometimes be confusing, but I believe in you!'";

    public TestContext TestContext { get; set; } = null!;

    public static async Task<(Task<int> Run, int Port)> StartEchoServerAsync(NetLineRecorder output, CancellationToken stop)
    {
        var run = Task.Run(() => new EchoServerSample().RunAsync(new SampleContext(output, ["--port", "0"], null, stop)));
        var line = await output.WaitForAsync(l => l.StartsWith("echo_server: listening on port ", StringComparison.Ordinal));
        return (run, int.Parse(line["echo_server: listening on port ".Length..], CultureInfo.InvariantCulture));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task EchoClientAndServer_InProcess_PrintTheCoursesLinesAndStopCleanly()
    {
        var serverOut = new NetLineRecorder();
        using var stopServer = new CancellationTokenSource();
        var (server, port) = await StartEchoServerAsync(serverOut, stopServer.Token);

        var time = new NetTimerSignalingTimeProvider();
        var clientOut = new NetLineRecorder();
        var client = Task.Run(() => new EchoClientSample().RunAsync(new SampleContext(clientOut, ["--port", port.ToString(CultureInfo.InvariantCulture)], time)));
        await clientOut.WaitForAsync(l => l == $"receiver: got data {Message}");

        // The second send comes one virtual second later.
        await time.TimerCreated.WaitAsync();
        time.Advance(TimeSpan.FromSeconds(1));
        await serverOut.WaitForAsync(l => l == $"echo_server 0: sending data {Message}" && serverOut.Count(x => x == l) == 2);

        // Ctrl+C on the server: it closes every connection, so the client sees the end and exits like sys.exit().
        await stopServer.CancelAsync();
        Assert.AreEqual(0, await server);
        Assert.AreEqual(0, await client);

        CollectionAssert.AreEqual(
            new[]
            {
                $"parent: connecting to 127.0.0.1:{port}",
                "parent: spawning sender...",
                "parent: spawning receiver...",
                "sender: started!",
                $"sender: sending {Message}",
            },
            clientOut.Lines.Take(5).ToArray());
        CollectionAssert.IsSubsetOf(
            new[] { "receiver: started!", $"receiver: got data {Message}", "receiver: got data b''", "receiver: connection closed" },
            clientOut.Lines.ToArray());
        Assert.AreEqual(2, clientOut.Count(l => l == $"sender: sending {Message}"));
        CollectionAssert.AreEqual(
            new[] { "echo_server 0: started", $"echo_server 0: received data {Message}", $"echo_server 0: sending data {Message}" },
            serverOut.Lines.Skip(1).Take(3).ToArray());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task EchoClient_Cancelled_StopsWithOperationCanceled()
    {
        var serverOut = new NetLineRecorder();
        using var stopServer = new CancellationTokenSource();
        var (server, port) = await StartEchoServerAsync(serverOut, stopServer.Token);
        using var stopClient = new CancellationTokenSource();
        var clientOut = new NetLineRecorder();
        var client = Task.Run(() => new EchoClientSample().RunAsync(
            new SampleContext(clientOut, ["--port", port.ToString(CultureInfo.InvariantCulture)], new NetTimerSignalingTimeProvider(), stopClient.Token)));
        await clientOut.WaitForAsync(l => l.StartsWith("receiver: got data", StringComparison.Ordinal));
        await stopClient.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => client);
        await serverOut.WaitForAsync(l => l == "echo_server 0: connection closed");
        await stopServer.CancelAsync();
        Assert.AreEqual(0, await server);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task EchoServer_ThousandConcurrentConnections_EachGetsItsOwnBytesBack()
    {
        var clients = NetFixtures.Stress ? 5000 : 1000;
        var serverOut = new NetLineRecorder();
        using var stopServer = new CancellationTokenSource();
        var (server, port) = await StartEchoServerAsync(serverOut, stopServer.Token);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
        {
            var data = NetFixtures.RandomBytes(1024, i);
            await using var stream = await SocketStream.ConnectTcpAsync("127.0.0.1", port);
            await stream.SendAllAsync(data.AsMemory(0, 500));
            await stream.SendAllAsync(data.AsMemory(500));
            var echoed = await stream.ReadExactlyAsync(data.Length);
            return echoed.AsSpan().SequenceEqual(data);
        })));
        watch.Stop();
        Assert.AreEqual(clients, results.Count(ok => ok));
        await stopServer.CancelAsync();
        Assert.AreEqual(0, await server);
        TestContext.WriteLine($"echo server: {clients} concurrent connections x 1 KiB, all echoed bytes verified, {watch.ElapsedMilliseconds} ms");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Chat_LineFromOneClient_ReachesEveryOtherClient()
    {
        var output = new NetLineRecorder();
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => new ChatSample().RunAsync(new SampleContext(output, ["--port", "0"], null, stop.Token)));
        var line = await output.WaitForAsync(l => l.StartsWith("chat: listening on port ", StringComparison.Ordinal));
        var port = int.Parse(line["chat: listening on port ".Length..], CultureInfo.InvariantCulture);

        await using var alice = await SocketStream.ConnectTcpAsync("127.0.0.1", port);
        await output.WaitForAsync(l => l == "chat: client 1 joined");
        await using var bob = await SocketStream.ConnectTcpAsync("127.0.0.1", port);
        await output.WaitForAsync(l => l == "chat: client 2 joined");
        await using var carol = await SocketStream.ConnectTcpAsync("127.0.0.1", port);
        await output.WaitForAsync(l => l == "chat: client 3 joined");

        await using var aliceLines = alice.ReadLinesAsync(1024).GetAsyncEnumerator();
        await using var bobLines = bob.ReadLinesAsync(1024).GetAsyncEnumerator();
        await using var carolLines = carol.ReadLinesAsync(1024).GetAsyncEnumerator();
        Assert.AreEqual("* client 2 joined", await NextAsync(aliceLines));
        Assert.AreEqual("* client 3 joined", await NextAsync(aliceLines));
        Assert.AreEqual("* client 3 joined", await NextAsync(bobLines));

        await bob.WriteLineAsync("hello from bob");
        Assert.AreEqual("[2] hello from bob", await NextAsync(aliceLines));
        Assert.AreEqual("[2] hello from bob", await NextAsync(carolLines));

        await carol.DisposeAsync();
        await output.WaitForAsync(l => l == "chat: client 3 left");
        Assert.AreEqual("* client 3 left", await NextAsync(aliceLines));
        Assert.AreEqual("* client 3 left", await NextAsync(bobLines));

        await stop.CancelAsync();
        Assert.AreEqual(0, await run);
        Assert.IsFalse(await aliceLines.MoveNextAsync(), "the server closed alice's connection when it stopped");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Chat_ClientThatNeverReads_IsDroppedAndOthersGoOn()
    {
        var output = new NetLineRecorder();
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => new ChatSample().RunAsync(new SampleContext(output, ["--port", "0"], null, stop.Token)));
        var line = await output.WaitForAsync(l => l.StartsWith("chat: listening on port ", StringComparison.Ordinal));
        var port = int.Parse(line["chat: listening on port ".Length..], CultureInfo.InvariantCulture);

        await using var sleeper = await SocketStream.ConnectTcpAsync("127.0.0.1", port);
        sleeper.Socket!.ReceiveBufferSize = 4096;
        await output.WaitForAsync(l => l == "chat: client 1 joined");
        await using var talker = await SocketStream.ConnectTcpAsync("127.0.0.1", port);
        await output.WaitForAsync(l => l == "chat: client 2 joined");

        // The sleeper never reads: the kernel's buffers fill, then its bounded outbox, and the server drops it.
        var dropped = output.WaitForAsync(l => l.StartsWith("chat: client 1 dropped", StringComparison.Ordinal));
        var text = new string('z', 1000);
        var sent = 0;
        while (!dropped.IsCompleted && sent < 100_000)
        {
            await talker.WriteLineAsync(text);
            sent++;
        }

        await dropped;
        await output.WaitForAsync(l => l == "chat: client 1 left");
        await using var talkerLines = talker.ReadLinesAsync(1024).GetAsyncEnumerator();
        Assert.AreEqual("* client 1 left", await NextAsync(talkerLines));
        await stop.CancelAsync();
        Assert.AreEqual(0, await run);
        TestContext.WriteLine($"chat: a client that never reads was dropped after {sent} lines of 1 KB from another client");
    }

    private static async Task<string> NextAsync(IAsyncEnumerator<string> lines)
    {
        Assert.IsTrue(await lines.MoveNextAsync());
        return lines.Current;
    }
}
