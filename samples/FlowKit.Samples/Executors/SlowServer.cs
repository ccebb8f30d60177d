using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FlowKit.Samples.Executors;

/// <summary>A loopback server standing in for a slow remote service: each connection sends a size line, the server waits its
/// latency (on the sample's clock) and replies with that many bytes. The I/O samples read from it with blocking sockets.</summary>
internal sealed class SlowServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeSpan _latency;
    private readonly TimeProvider _time;
    private readonly Task _accepting;

    public SlowServer(TimeSpan latency, TimeProvider time)
    {
        _latency = latency;
        _time = time;
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The blocking client: connect, ask for <paramref name="size"/> bytes, read until the server closes.</summary>
    public static int Fetch(int port, int size)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(IPAddress.Loopback, port);
        socket.Send(Encoding.ASCII.GetBytes(size + "\n"));
        var buffer = new byte[16 * 1024];
        var total = 0;
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            total += n;
        }

        return total;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        var handlers = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                handlers.Add(ServeAsync(client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(handlers);
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
            var size = int.Parse(await reader.ReadLineAsync(_stop.Token) ?? "0", System.Globalization.CultureInfo.InvariantCulture);
            if (_latency > TimeSpan.Zero)
            {
                await Task.Delay(_latency, _time, _stop.Token);
            }

            await stream.WriteAsync(new byte[size], _stop.Token);
        }
    }
}
