using System.Globalization;

using FlowKit.Net;
using FlowKit.Samples;
using FlowKit.Samples.Net;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Net;

/// <summary>FlowKit's echo programs against the course's own Python Trio programs (Debian's python3-trio), both ways, checking bytes.</summary>
[TestClass]
public sealed class PythonInteropTests
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task FlowKitEchoClient_AgainstPythonTrioServer_GetsItsMessageBack()
    {
        using var python = NetPythonProcess.Start("echo_server.py", "0");
        var port = await PythonPortAsync(python);

        using var stopClient = new CancellationTokenSource();
        var clientOut = new NetLineRecorder();
        var client = Task.Run(() => new EchoClientSample().RunAsync(
            new SampleContext(clientOut, ["--port", port.ToString(CultureInfo.InvariantCulture)], new NetTimerSignalingTimeProvider(), stopClient.Token)));
        await clientOut.WaitForAsync(l => l == $"receiver: got data {NetSampleTests.Message}");
        await python.Output.WaitForAsync(l => l == $"echo_server 0: sending data {NetSampleTests.Message}");
        await stopClient.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => client);
        await python.Output.WaitForAsync(l => l == "echo_server 0: connection closed");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SocketStream_AgainstPythonTrioServer_EchoesRandomBytesExactly()
    {
        using var python = NetPythonProcess.Start("echo_server.py", "0");
        var port = await PythonPortAsync(python);
        var data = NetFixtures.RandomBytes(256 * 1024, 42);
        await using var stream = await SocketStream.ConnectTcpAsync("127.0.0.1", port);
        var sending = Task.Run(async () =>
        {
            for (var offset = 0; offset < data.Length; offset += 10_000)
            {
                await stream.SendAllAsync(data.AsMemory(offset, Math.Min(10_000, data.Length - offset)));
            }

            await stream.SendEofAsync();
        });
        using var echoed = new MemoryStream();
        await foreach (var chunk in stream.ReadChunksAsync())
        {
            echoed.Write(chunk.Span);
        }

        await sending;
        CollectionAssert.AreEqual(data, echoed.ToArray());
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task PythonTrioEchoClient_AgainstFlowKitEchoServer_GetsItsMessageBackAndExitsWhenServerStops()
    {
        var serverOut = new NetLineRecorder();
        using var stopServer = new CancellationTokenSource();
        var (server, port) = await NetSampleTests.StartEchoServerAsync(serverOut, stopServer.Token);
        using var python = NetPythonProcess.Start("echo_client.py", port.ToString(CultureInfo.InvariantCulture));
        await python.Output.WaitForAsync(l => l == $"receiver: got data {NetSampleTests.Message}");
        await serverOut.WaitForAsync(l => l == $"echo_server 0: sending data {NetSampleTests.Message}");

        await stopServer.CancelAsync();
        Assert.AreEqual(0, await server);
        await python.Output.WaitForAsync(l => l == "receiver: connection closed");
        await python.Process.WaitForExitAsync();
        Assert.AreEqual(0, python.Process.ExitCode);
        Assert.AreEqual($"parent: connecting to 127.0.0.1:{port}", python.Output.Lines[0]);
    }

    private static async Task<int> PythonPortAsync(NetPythonProcess python)
    {
        var line = await python.Output.WaitForAsync(l => l.StartsWith("listening on port ", StringComparison.Ordinal) || l.StartsWith("stderr:", StringComparison.Ordinal));
        Assert.StartsWith("listening on port ", line, $"python said: {string.Join(Environment.NewLine, python.Output.Lines)}");
        return int.Parse(line["listening on port ".Length..], CultureInfo.InvariantCulture);
    }
}
