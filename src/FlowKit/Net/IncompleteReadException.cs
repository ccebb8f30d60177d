namespace FlowKit.Net;

/// <summary>
/// The peer ended the stream in the middle of a frame or of an exact read (asyncio's <c>IncompleteReadError</c>):
/// <see cref="BytesRead"/> of <see cref="BytesExpected"/> bytes arrived.
/// </summary>
public sealed class IncompleteReadException : EndOfStreamException
{
    /// <summary>Creates the exception with a default message.</summary>
    public IncompleteReadException()
        : base("The stream ended before the expected bytes arrived.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public IncompleteReadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> wrapping <paramref name="innerException"/>.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public IncompleteReadException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal IncompleteReadException(long bytesRead, long bytesExpected, string what)
        : base($"The stream ended after {bytesRead} of {bytesExpected} bytes of {what}.")
    {
        BytesRead = bytesRead;
        BytesExpected = bytesExpected;
    }

    /// <summary>The bytes that did arrive.</summary>
    public long BytesRead { get; }

    /// <summary>The bytes that were expected.</summary>
    public long BytesExpected { get; }
}
