namespace FlowKit.Net;

/// <summary>
/// A length prefix announced a frame larger than the limit given to <see cref="SocketStream.ReadFramesAsync(int, CancellationToken)"/>
/// (including lengths that are negative as a signed 32-bit integer). The stream is left unusable for reading.
/// </summary>
public sealed class FrameTooLargeException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public FrameTooLargeException()
        : base("A frame was larger than the limit.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public FrameTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> wrapping <paramref name="innerException"/>.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public FrameTooLargeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal FrameTooLargeException(uint announcedLength, int maxFrameSize)
        : base($"A frame header announced {announcedLength} bytes (as a signed 32-bit value: {unchecked((int)announcedLength)}); the limit given as maxFrameSize is {maxFrameSize}.")
    {
        AnnouncedLength = announcedLength;
        MaxFrameSize = maxFrameSize;
    }

    /// <summary>The length the header announced, read as an unsigned 32-bit big-endian integer.</summary>
    public uint AnnouncedLength { get; }

    /// <summary>The limit that was exceeded.</summary>
    public int MaxFrameSize { get; }
}
