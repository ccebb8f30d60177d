namespace FlowKit;

/// <summary>
/// Thrown by <see cref="ReceiveChannel{T}.ReceiveAsync(CancellationToken)"/> when every clone of the send side has been disposed and
/// the buffer is drained (Trio's <c>EndOfChannel</c>). Enumerating the receive channel simply ends instead.
/// </summary>
public sealed class EndOfChannelException : Exception
{
    /// <summary>Creates the exception with the default message.</summary>
    public EndOfChannelException()
        : base("The channel has ended: every send channel was disposed and every item has been received.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public EndOfChannelException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public EndOfChannelException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
