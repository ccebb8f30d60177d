using System.Net.Sockets;

namespace FlowKit.Net;

/// <summary>What a <see cref="SocketStream"/> reads from and writes to, plus the two operations a plain <see cref="Stream"/> lacks:
/// half-close and a graceful close.</summary>
internal abstract class StreamTransport
{
    public abstract Stream Stream { get; }

    /// <summary>The socket underneath, if any (for endpoints and socket options).</summary>
    public abstract Socket? Socket { get; }

    /// <summary>The server limits watching this connection, if it was accepted by a <see cref="SocketServer"/>.</summary>
    public virtual ConnectionGuard? Guard => null;

    public abstract ValueTask SendEofAsync();

    /// <summary>Closes for good; wakes pending reads and writes. Never throws.</summary>
    public abstract ValueTask CloseAsync();
}
