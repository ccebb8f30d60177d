namespace FlowKit.Net;

/// <summary>
/// A line did not end within the limit given to <see cref="SocketStream.ReadLinesAsync(int, CancellationToken)"/> (asyncio's
/// <c>LimitOverrunError</c>). The stream is left unusable for reading: later reads throw <see cref="BrokenStreamException"/>.
/// </summary>
public sealed class LineTooLongException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public LineTooLongException()
        : base("A line was longer than the limit.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public LineTooLongException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> wrapping <paramref name="innerException"/>.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public LineTooLongException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal LineTooLongException(int maxLineLength, long bytesSeen)
        : base($"No end of line within {maxLineLength} bytes (the limit given as maxLineLength); {bytesSeen} bytes were buffered without one.")
    {
        MaxLineLength = maxLineLength;
        BytesSeen = bytesSeen;
    }

    /// <summary>The limit that was exceeded.</summary>
    public int MaxLineLength { get; }

    /// <summary>How many bytes were buffered without an end of line when the limit was hit.</summary>
    public long BytesSeen { get; }
}
