using System.Net.Sockets;

namespace FlowKit.Net;

/// <summary>A connected TCP or Unix-domain socket. Reads and writes go through <see cref="NetworkStream"/>, whose
/// <c>ReadAsync(Memory)</c>/<c>WriteAsync(ReadOnlyMemory)</c> use the socket's cached awaitable event args: no allocation and no
/// extra thread-pool hop beyond the socket engine's own completion.</summary>
internal sealed class SocketTransport : StreamTransport
{
    private readonly Socket _socket;
    private readonly Stream _stream;

    private readonly ConnectionGuard? _guard;

    public SocketTransport(Socket socket, bool inlineCompletions, ConnectionGuard? guard = null)
    {
        _socket = socket;
        _guard = guard;
        if (inlineCompletions && EpollInterop.IsSupported)
        {
            var reactor = EpollReactor.Attach(socket);
            _stream = guard is null ? reactor : guard.Attach(reactor);
        }
        else
        {
            var network = new NetworkStream(socket, ownsSocket: true);
            _stream = guard is null ? network : guard.Wrap(network);
        }
    }

    public override ConnectionGuard? Guard => _guard;

    public override Stream Stream => _stream;

    public override Socket? Socket => _socket;

    public override ValueTask SendEofAsync()
    {
        _socket.Shutdown(SocketShutdown.Send);
        return ValueTask.CompletedTask;
    }

    public override ValueTask CloseAsync()
    {
        try
        {
            // FIN first so the peer reads a clean end of stream rather than a reset.
            if (_socket.Connected)
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (SocketException)
        {
            // Already reset or shut down: closing is all that is left.
        }
        catch (ObjectDisposedException)
        {
        }

        _stream.Dispose();
        _guard?.Release();
        return ValueTask.CompletedTask;
    }
}
