using System.Buffers;
using System.Buffers.Binary;

namespace FlowKit.Net;

/// <summary>Decodes frames made of a 4-byte big-endian length and that many bytes of payload.</summary>
internal static class FrameDecoder
{
    public const int HeaderSize = 4;

    /// <summary>Returns true and the payload and its end; false when more bytes are needed. Never looks past the frame.</summary>
    /// <exception cref="FrameTooLargeException">The header announces more than <paramref name="maxFrameSize"/> bytes.</exception>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, int maxFrameSize, out ReadOnlySequence<byte> payload, out SequencePosition next)
    {
        payload = default;
        next = default;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }

        var length = ReadLength(buffer);
        if (length > (uint)maxFrameSize)
        {
            throw new FrameTooLargeException(length, maxFrameSize);
        }

        if (buffer.Length - HeaderSize < length)
        {
            return false;
        }

        payload = buffer.Slice(HeaderSize, length);
        next = payload.End;
        return true;
    }

    /// <summary>The bytes a truncated frame at the start of <paramref name="buffer"/> still needed: (read, expected) of the payload,
    /// or of the header when it is incomplete.</summary>
    public static (long Read, long Expected, string What) Shortfall(in ReadOnlySequence<byte> buffer) =>
        buffer.Length < HeaderSize
            ? (buffer.Length, HeaderSize, "a frame header")
            : (buffer.Length - HeaderSize, ReadLength(buffer), "a frame payload");

    public static void WriteHeader(Span<byte> destination, int length) => BinaryPrimitives.WriteInt32BigEndian(destination, length);

    private static uint ReadLength(in ReadOnlySequence<byte> buffer)
    {
        var first = buffer.FirstSpan;
        if (first.Length >= HeaderSize)
        {
            return BinaryPrimitives.ReadUInt32BigEndian(first);
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        return BinaryPrimitives.ReadUInt32BigEndian(header);
    }
}
