namespace FlowKit.Net;

/// <summary>How a <see cref="SocketServer"/> accepts and serves. Copied when the server is created, so later changes have no effect.</summary>
public sealed class SocketServerOptions
{
    /// <summary>The most connections <see cref="SocketServer.ServeAsync"/> serves at once; further clients wait in the listen backlog.</summary>
    /// <value>The default value is 10000. Allowed: 1 or more.</value>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>The kernel's queue of connections not yet accepted.</summary>
    /// <value>The default value is 1024. Allowed: 1 or more.</value>
    public int Backlog { get; set; } = 1024;

    /// <summary>Buffering of each accepted stream. <see cref="SocketStreamOptions.BufferSize"/> bounds the memory a connection holds
    /// when its handler keeps up; a peer that sends faster than the handler reads is held back by TCP flow control.</summary>
    /// <value>The default value is a <see cref="SocketStreamOptions"/> with its defaults.</value>
    public SocketStreamOptions StreamOptions { get; set; } = new();

    /// <summary>Called when a connection's handler throws (the connection is closed and the server goes on). A callback that throws
    /// stops the server with that exception.</summary>
    /// <value>The default value is <see langword="null"/>: failures are only counted in <see cref="SocketServerStatistics.HandlerFailures"/>.</value>
    public Func<ConnectionFailedContext, ValueTask>? OnConnectionFailed { get; set; }

    /// <summary>The clock used to pause after transient accept failures (such as running out of file descriptors).</summary>
    /// <value>The default value is <see langword="null"/>, meaning <see cref="TimeProvider.System"/>.</value>
    public TimeProvider? TimeProvider { get; set; }

    internal static SocketServerOptions Default { get; } = new();

    internal SocketServerOptions Validated()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxConnections, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Backlog, nameof(Backlog));
        ArgumentNullException.ThrowIfNull(StreamOptions, nameof(StreamOptions));
        return new SocketServerOptions
        {
            MaxConnections = MaxConnections,
            Backlog = Backlog,
            StreamOptions = StreamOptions.Validated(),
            OnConnectionFailed = OnConnectionFailed,
            TimeProvider = TimeProvider,
        };
    }
}
