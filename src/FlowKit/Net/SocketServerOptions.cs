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

    /// <summary>The clock used to pause after transient accept failures (such as running out of file descriptors) and to enforce the
    /// time limits (<see cref="HandshakeTimeout"/>, <see cref="IdleTimeout"/>, <see cref="MinDataRate"/>).</summary>
    /// <value>The default value is <see langword="null"/>, meaning <see cref="TimeProvider.System"/>.</value>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>When set, <see cref="SocketServer.ServeAsync"/> runs the TLS server handshake on each connection before its handler,
    /// which then gets the encrypted stream. A handshake that fails is counted in <see cref="SocketServerStatistics.HandshakeFailures"/>
    /// and its connection closed without calling the handler.</summary>
    /// <value>The default value is <see langword="null"/>: plain connections (a handler may still call
    /// <see cref="SocketStream.AuthenticateAsServerAsync"/> itself; <see cref="HandshakeTimeout"/> applies there too).</value>
    public System.Net.Security.SslServerAuthenticationOptions? Tls { get; set; }

    /// <summary>The longest a TLS server handshake on an accepted connection may take (Kestrel's <c>HandshakeTimeout</c>); past it the
    /// connection is closed and the handshake throws <see cref="ConnectionLimitException"/>. Null for no limit.</summary>
    /// <value>The default value is 10 seconds, as Kestrel's.</value>
    public TimeSpan? HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest a read may wait with no byte arriving, or a write with the peer taking no byte (Kestrel's
    /// <c>KeepAliveTimeout</c> for a connection between requests); past it the connection is closed and its operations throw
    /// <see cref="ConnectionLimitException"/>. Time the handler spends neither reading nor writing does not count. Null for no limit.</summary>
    /// <value>The default value is 2 minutes.</value>
    public TimeSpan? IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The slowest rate, in bytes per second, at which a peer may send the rest of a line, frame or exact read it has started
    /// (Kestrel's <c>MinRequestBodyDataRate</c>), measured from the first wait for the rest and enforced after
    /// <see cref="MinDataRateGracePeriod"/>; a slower peer (a slowloris) is disconnected with <see cref="ConnectionLimitException"/>.
    /// Waiting for a new record is governed by <see cref="IdleTimeout"/> instead. Null or 0 for no limit.</summary>
    /// <value>The default value is 240 bytes per second, as Kestrel's.</value>
    public double? MinDataRate { get; set; } = 240;

    /// <summary>How long a started record may arrive slower than <see cref="MinDataRate"/> before the rate is enforced.</summary>
    /// <value>The default value is 5 seconds, as Kestrel's. Allowed: zero or more.</value>
    public TimeSpan MinDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most connections open at once from one IP address (IPv4-mapped IPv6 addresses count as IPv4). Further connections
    /// from that address are closed as soon as they are accepted and counted in <see cref="SocketServerStatistics.RejectedConnections"/>.
    /// Null for no limit; clients behind one NAT or proxy share an address, so size it for that.</summary>
    /// <value>The default value is <see langword="null"/> (no limit; <see cref="MaxConnections"/> still bounds the total).</value>
    public int? MaxConnectionsPerAddress { get; set; }

    /// <summary>The most bytes a connection's reader may hold buffered (Kestrel's <c>MaxRequestBufferSize</c>), whatever line or frame
    /// limit its handler asks for; a read that would need more throws <see cref="ConnectionLimitException"/> and leaves the stream
    /// unusable for reading. Null for no limit beyond the handler's own.</summary>
    /// <value>The default value is 1 MiB, as Kestrel's.</value>
    public long? MaxBufferedBytesPerConnection { get; set; } = 1024 * 1024;

    internal static SocketServerOptions Default { get; } = new();

    internal bool HasTimeLimits => HandshakeTimeout is not null || IdleTimeout is not null || MinDataRate is > 0;

    /// <summary>How often the server checks its connections' time limits: a quarter of the shortest, between 10 ms and 1 s (Kestrel's
    /// heartbeat is 1 s). A limit is enforced at most one period late.</summary>
    internal TimeSpan HeartbeatPeriod
    {
        get
        {
            var shortest = TimeSpan.FromSeconds(4);
            foreach (var limit in new[] { HandshakeTimeout, IdleTimeout, MinDataRate is > 0 ? MinDataRateGracePeriod : (TimeSpan?)null })
            {
                if (limit is { } value && value < shortest)
                {
                    shortest = value;
                }
            }

            return TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    internal SocketServerOptions Validated()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxConnections, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Backlog, nameof(Backlog));
        ArgumentNullException.ThrowIfNull(StreamOptions, nameof(StreamOptions));
        ThrowIfNotPositive(HandshakeTimeout, nameof(HandshakeTimeout));
        ThrowIfNotPositive(IdleTimeout, nameof(IdleTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinDataRateGracePeriod, TimeSpan.Zero, nameof(MinDataRateGracePeriod));
        if (MinDataRate is { } rate && (rate < 0 || double.IsNaN(rate) || double.IsInfinity(rate)))
        {
            throw new ArgumentOutOfRangeException(nameof(MinDataRate), rate, "The minimum data rate must be a finite number of bytes per second, 0 or more.");
        }

        if (MaxConnectionsPerAddress is { } perAddress)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perAddress, nameof(MaxConnectionsPerAddress));
        }

        if (MaxBufferedBytesPerConnection is { } maxBuffered)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(maxBuffered, 256L, nameof(MaxBufferedBytesPerConnection));
        }

        return new SocketServerOptions
        {
            Tls = Tls,
            HandshakeTimeout = HandshakeTimeout,
            IdleTimeout = IdleTimeout,
            MinDataRate = MinDataRate,
            MinDataRateGracePeriod = MinDataRateGracePeriod,
            MaxConnectionsPerAddress = MaxConnectionsPerAddress,
            MaxBufferedBytesPerConnection = MaxBufferedBytesPerConnection,
            MaxConnections = MaxConnections,
            Backlog = Backlog,
            StreamOptions = StreamOptions.Validated(),
            OnConnectionFailed = OnConnectionFailed,
            TimeProvider = TimeProvider,
        };
    }

    private static void ThrowIfNotPositive(TimeSpan? value, string name)
    {
        if (value is { } span && (span <= TimeSpan.Zero || span == Timeout.InfiniteTimeSpan))
        {
            throw new ArgumentOutOfRangeException(name, span, "A timeout must be positive; use null for no limit.");
        }
    }
}
