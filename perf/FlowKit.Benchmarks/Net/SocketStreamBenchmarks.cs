using System.Net;
using System.Net.Sockets;

using BenchmarkDotNet.Attributes;

using FlowKit.Net;

namespace FlowKit.Benchmarks.Net;

/// <summary>One loopback round trip (send, receive on the peer, send back, receive) of a small message: FlowKit's SocketStream (epoll I/O
/// threads, inline completions) against the raw <see cref="Socket"/> ValueTask API it replaces.</summary>
[MemoryDiagnoser]
public class SocketStreamBenchmarks
{
    private readonly byte[] _message = new byte[64];
    private readonly byte[] _buffer = new byte[64];
    private Socket _rawA = null!;
    private Socket _rawB = null!;
    private SocketStream _a = null!;
    private SocketStream _b = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_rawA, _rawB) = await RawPairAsync();
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
        var accept = server.AcceptAsync().AsTask();
        _a = await SocketStream.ConnectTcpAsync(server.LocalEndPoint);
        _b = await accept;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _rawA.Dispose();
        _rawB.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<int> RawSocket_RoundTrip64B()
    {
        await _rawA.SendAsync(_message, SocketFlags.None);
        var n = await ReceiveExactlyAsync(_rawB, _buffer);
        await _rawB.SendAsync(_buffer.AsMemory(0, n), SocketFlags.None);
        return await ReceiveExactlyAsync(_rawA, _buffer);
    }

    [Benchmark]
    public async Task<int> SocketStream_RoundTrip64B()
    {
        await _a.SendAllAsync(_message);
        await _b.ReadExactlyAsync(_buffer);
        await _b.SendAllAsync(_buffer);
        await _a.ReadExactlyAsync(_buffer);
        return _buffer.Length;
    }

    private static async Task<int> ReceiveExactlyAsync(Socket socket, byte[] buffer)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            filled += await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
        }

        return filled;
    }

    private static async Task<(Socket, Socket)> RawPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await accept;
        server.NoDelay = true;
        return (client, server);
    }
}
