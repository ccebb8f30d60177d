namespace FlowKit.Net;

/// <summary>
/// Two tasks tried to read (or to write) the same stream at once (Trio's <c>BusyResourceError</c>). A stream allows one reader and one
/// writer at a time; an open <c>Read*Async</c> enumeration counts as a reader until it is disposed.
/// </summary>
public sealed class BusyStreamException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public BusyStreamException()
        : base("Another task is already using this stream in the same direction.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public BusyStreamException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> wrapping <paramref name="innerException"/>.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public BusyStreamException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
