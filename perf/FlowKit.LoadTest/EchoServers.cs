using System.Net;
using System.Net.Sockets;

using FlowKit.Net;

namespace FlowKit.LoadTest;

/// <summary>The two echo servers under test: FlowKit's (SocketServer.ServeAsync + ReceiveSomeAsync/SendAllAsync, as in the echo-server
/// sample without its prints) and a plain .NET one written directly on <see cref="Socket"/> (the baseline).</summary>
public static class EchoServers
{
    public const int BufferSize = 64 * 1024;

    public static async Task RunFlowKitAsync(int port, Action<int> listening, CancellationToken cancellationToken)
    {
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, port, new SocketServerOptions { Backlog = 4096 });
        listening(server.LocalEndPoint.Port);
        try
        {
            await server.ServeAsync(
                async (stream, ct) =>
                {
                    var buffer = new byte[BufferSize];
                    int n;
                    while ((n = await stream.ReceiveSomeAsync(buffer, ct).ConfigureAwait(false)) > 0)
                    {
                        await stream.SendAllAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public static async Task RunRawAsync(int port, Action<int> listening, CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(4096);
        listening(((IPEndPoint)listener.LocalEndPoint!).Port);
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                socket.NoDelay = true;
                connections.Add(Task.Run(() => EchoRawAsync(socket, cancellationToken), CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(connections.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
    }

    private static async Task EchoRawAsync(Socket socket, CancellationToken cancellationToken)
    {
        using (socket)
        {
            var buffer = new byte[BufferSize];
            try
            {
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    var sent = 0;
                    while (sent < n)
                    {
                        sent += await socket.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
            }
        }
    }
}
