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

    internal static SocketStreamOptions Default { get; } = new();

    internal SocketStreamOptions Validated()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BufferSize, 256, nameof(BufferSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BufferSize, 16 * 1024 * 1024, nameof(BufferSize));
        return new SocketStreamOptions { BufferSize = BufferSize, NoDelay = NoDelay };
    }
}
