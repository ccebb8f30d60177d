namespace FlowKit.Net;

/// <summary>Which of a <see cref="SocketServer"/>'s per-connection limits a peer hit (see <see cref="SocketServerOptions"/>).</summary>
public enum ConnectionLimit
{
    /// <summary>The TLS handshake did not finish within <see cref="SocketServerOptions.HandshakeTimeout"/>.</summary>
    HandshakeTimeout,

    /// <summary>A read or a write made no progress for <see cref="SocketServerOptions.IdleTimeout"/>.</summary>
    IdleTimeout,

    /// <summary>The peer sent the rest of a started line, frame or exact read slower than
    /// <see cref="SocketServerOptions.MinDataRate"/> after its grace period.</summary>
    MinDataRate,

    /// <summary>A read would have buffered more than <see cref="SocketServerOptions.MaxBufferedBytesPerConnection"/>.</summary>
    MaxBufferedBytes,
}

/// <summary>
/// A connection hit one of its server's limits (<see cref="Limit"/>): a timeout closes the connection, and the handler's pending and
/// later operations on it throw this exception; the buffer limit leaves the stream unusable for reading. Each hit is counted in
/// <see cref="SocketServerStatistics"/>; the server goes on.
/// </summary>
public sealed class ConnectionLimitException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public ConnectionLimitException()
        : base("The connection hit a server limit.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public ConnectionLimitException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> wrapping <paramref name="innerException"/>.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public ConnectionLimitException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal ConnectionLimitException(ConnectionLimit limit, string message)
        : base(message)
    {
        Limit = limit;
    }

    /// <summary>The limit that was hit.</summary>
    public ConnectionLimit Limit { get; }
}
