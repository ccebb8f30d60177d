using System.Diagnostics;

namespace FlowKit.Net;

/// <summary>A snapshot of a <see cref="SocketServer"/>'s counters, from <see cref="SocketServer.GetStatistics"/>.</summary>
/// <param name="ActiveConnections">Connections being served now.</param>
/// <param name="AcceptedConnections">Connections accepted over the server's life.</param>
/// <param name="HandlerFailures">Handlers that threw (their connections were closed, the server went on).</param>
/// <param name="IsListening">Whether the listening socket is open.</param>
[DebuggerDisplay("Active = {ActiveConnections}, Accepted = {AcceptedConnections}, Failures = {HandlerFailures}")]
public readonly record struct SocketServerStatistics(int ActiveConnections, long AcceptedConnections, long HandlerFailures, bool IsListening)
{
    /// <summary>Connections the client aborted or reset before they could be accepted (skipped at once; accepting goes on).</summary>
    public long AbortedAccepts { get; init; }

    /// <summary>Connections closed at once because their address was at <see cref="SocketServerOptions.MaxConnectionsPerAddress"/>.</summary>
    public long RejectedConnections { get; init; }

    /// <summary>Connections closed because their TLS handshake exceeded <see cref="SocketServerOptions.HandshakeTimeout"/>.</summary>
    public long HandshakeTimeouts { get; init; }

    /// <summary>Connections whose TLS handshake (run by <see cref="SocketServer.ServeAsync"/> with <see cref="SocketServerOptions.Tls"/>)
    /// failed; they were closed without calling the handler.</summary>
    public long HandshakeFailures { get; init; }

    /// <summary>Connections closed because a read or write made no progress for <see cref="SocketServerOptions.IdleTimeout"/>.</summary>
    public long IdleTimeouts { get; init; }

    /// <summary>Connections closed because a started record arrived slower than <see cref="SocketServerOptions.MinDataRate"/>.</summary>
    public long MinDataRateCloses { get; init; }

    /// <summary>Reads refused because they would have buffered more than <see cref="SocketServerOptions.MaxBufferedBytesPerConnection"/>.</summary>
    public long BufferLimitHits { get; init; }

    /// <summary>Open connections whose limits the server is checking (served or handed out by <see cref="SocketServer.AcceptAsync"/>).</summary>
    public int WatchedConnections { get; init; }
}
