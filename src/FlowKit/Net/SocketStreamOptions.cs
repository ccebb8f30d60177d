namespace FlowKit.Net;

/// <summary>How a <see cref="SocketStream"/> buffers. Copied when the stream is created, so later changes have no effect.</summary>
public sealed class SocketStreamOptions
{
    /// <summary>The size of each read from the transport, and so the memory a connection holds when its reader keeps up.</summary>
    /// <value>The default value is 16384 bytes. Allowed: 256 to 16 MiB.</value>
    public int BufferSize { get; set; } = 16 * 1024;

    /// <summary>Whether TCP sockets disable Nagle's algorithm, so small writes leave at once (what request/response protocols want).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// Whether reads and writes on TCP and Unix sockets are completed by FlowKit's own I/O threads (an epoll set per thread, on x64 Linux),
    /// which resume the awaiting code right there instead of queuing it to the thread pool: one thread hop less per operation, as the
    /// runtime's process-wide <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> would do, but for these streams only. Code that
    /// awaits such a stream must not block (no <c>.Wait()</c>, no long CPU work between awaits), or it stalls the other connections on
    /// that I/O thread; set this to <see langword="false"/> for handlers that do.
    /// </summary>
    /// <value>The default value is <see langword="true"/>. Elsewhere than x64 Linux it has no effect.</value>
    public bool InlineCompletions { get; set; } = true;

    internal static SocketStreamOptions Default { get; } = new();

    internal SocketStreamOptions Validated()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BufferSize, 256, nameof(BufferSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BufferSize, 16 * 1024 * 1024, nameof(BufferSize));
        return new SocketStreamOptions { BufferSize = BufferSize, NoDelay = NoDelay, InlineCompletions = InlineCompletions };
    }
}
