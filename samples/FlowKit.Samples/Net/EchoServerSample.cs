using System.Net;
using System.Net.Sockets;

using FlowKit.Net;

namespace FlowKit.Samples.Net;

/// <summary>Course 24.5.2: Trio's echo server. <c>trio.serve_tcp(echo_server, PORT)</c> becomes <see cref="SocketServer.ServeAsync"/>;
/// <c>receive_some</c>/<c>send_all</c> keep their names. Ctrl+C (the context's token) stops accepting, cancels every connection and
/// returns once all are closed.</summary>
public sealed class EchoServerSample : ISample
{
    // How much memory to spend (at most) on each call to recv.
    private const int BufSize = 16384;

    public string Name => "echo-server";

    public string Description => "Trio 24.5.2: echo server with serve_tcp (--port 12345; --port 0 picks a free port and prints it)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var port = context.IntOption("port", 12345);
        var counter = -1;

        // serve_tcp's default host listens on every interface, IPv4 and IPv6.
        await using var server = SocketServer.ListenTcp(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, port);
        if (port == 0)
        {
            context.WriteLine($"echo_server: listening on port {server.LocalEndPoint.Port}");
        }

        try
        {
            await server.ServeAsync((stream, ct) => EchoServer(context, stream, Interlocked.Increment(ref counter), ct), context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // Ctrl+C: every connection has been closed by now.
        }

        return 0;
    }

    private static async Task EchoServer(SampleContext context, SocketStream serverStream, int ident, CancellationToken cancellationToken)
    {
        // Each connection gets a unique number to make the debug prints easier to follow.
        context.WriteLine($"echo_server {ident}: started");
        var buffer = new byte[BufSize];
        try
        {
            while (true)
            {
                var n = await serverStream.ReceiveSomeAsync(buffer, cancellationToken);
                var data = buffer.AsMemory(0, n);
                context.WriteLine($"echo_server {ident}: received data {PythonRepr.Bytes(data.Span)}");
                if (n == 0)
                {
                    context.WriteLine($"echo_server {ident}: connection closed");
                    return;
                }

                context.WriteLine($"echo_server {ident}: sending data {PythonRepr.Bytes(data.Span)}");
                await serverStream.SendAllAsync(data, cancellationToken);
            }
        }
        catch (Exception exc) when (exc is not OperationCanceledException)
        {
            // Like the course: a crashing connection is reported and the server goes on.
            context.WriteLine($"echo_server {ident}: crashed: {PythonRepr.Exception(exc)}");
        }
    }
}
