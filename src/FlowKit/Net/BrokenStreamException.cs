namespace FlowKit.Net;

/// <summary>
/// The peer reset or vanished, or the stream was left unusable by an earlier framing error (Trio's <c>BrokenResourceError</c>).
/// The underlying <see cref="System.Net.Sockets.SocketException"/> or <see cref="IOException"/> is the inner exception.
/// </summary>
public sealed class BrokenStreamException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public BrokenStreamException()
        : base("The stream is broken: the peer reset or closed the connection.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public BrokenStreamException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> wrapping <paramref name="innerException"/>.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The transport's own exception.</param>
    public BrokenStreamException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
