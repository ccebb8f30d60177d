namespace FlowKit;

/// <summary>
/// Thrown by <see cref="SendChannel{T}.SendAsync(T, CancellationToken)"/> when every clone of the receive side has been disposed, so
/// nobody can ever receive the item (Trio's <c>BrokenResourceError</c>). Senders blocked at that moment get it too.
/// </summary>
public sealed class BrokenChannelException : InvalidOperationException
{
    /// <summary>Creates the exception with the default message.</summary>
    public BrokenChannelException()
        : base("The channel is broken: every receive channel was disposed, so the item can never be received.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public BrokenChannelException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public BrokenChannelException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
