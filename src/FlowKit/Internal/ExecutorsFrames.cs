using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace FlowKit.Internal;

/// <summary>The process executor's wire format: each frame is a little-endian int32 length, then a kind byte, an int64 item id
/// and the kind's body. Requests go to the worker's stdin, replies come back on its stdout.</summary>
internal static class ExecutorsFrames
{
    public const byte Call = 1;
    public const byte Batch = 2;
    public const byte Cancel = 3;

    public const byte Result = 1;
    public const byte BatchResult = 2;
    public const byte Error = 4;
    public const byte Canceled = 5;

    public const int LengthSize = 4;
    public const int HeaderSize = 1 + 8;

    /// <summary>The absolute ceiling on a frame's length (<see cref="ProcessExecutorOptions.MaxAllowedFrameBytes"/>); the
    /// configured limit (<see cref="ProcessExecutorOptions.MaxFrameBytes"/>) is checked before a frame is written or buffered.</summary>
    public const int MaxFrameLength = ProcessExecutorOptions.MaxAllowedFrameBytes;

    /// <summary>The environment variable that tells a worker its parent's frame limit.</summary>
    public const string MaxFrameVariable = "FLOWKIT_WORKER_MAX_FRAME_BYTES";

    /// <summary>The length (after the length prefix) of a call frame.</summary>
    public static long CallLength(int nameLength, int payloadLength) => HeaderSize + 2L + nameLength + payloadLength;

    /// <summary>The length (after the length prefix) of a batch frame.</summary>
    public static long BatchLength(int nameLength, byte[][] payloads)
    {
        var length = HeaderSize + 2L + nameLength + 4;
        foreach (var p in payloads)
        {
            length += 4 + p.Length;
        }

        return length;
    }

    /// <summary>The length (after the length prefix) of a reply carrying <paramref name="payloads"/> (one for a call's result).</summary>
    public static long ReplyLength(IReadOnlyList<byte[]> payloads, bool batch)
    {
        if (!batch)
        {
            return HeaderSize + (long)payloads[0].Length;
        }

        var length = HeaderSize + 4L;
        foreach (var p in payloads)
        {
            length += 4 + p.Length;
        }

        return length;
    }

    public static void WriteCall(IBufferWriter<byte> writer, long id, byte[] name, ReadOnlySpan<byte> payload)
    {
        var span = Begin(writer, Call, id, 2 + name.Length + payload.Length, out var total);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)name.Length);
        name.CopyTo(span[2..]);
        payload.CopyTo(span[(2 + name.Length)..]);
        writer.Advance(total);
    }

    public static void WriteBatch(IBufferWriter<byte> writer, long id, byte[] name, byte[][] payloads)
    {
        var size = 2 + name.Length + 4;
        foreach (var p in payloads)
        {
            size += 4 + p.Length;
        }

        var span = Begin(writer, Batch, id, size, out var total);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)name.Length);
        name.CopyTo(span[2..]);
        var at = 2 + name.Length;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], payloads.Length);
        at += 4;
        foreach (var p in payloads)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], p.Length);
            p.CopyTo(span[(at + 4)..]);
            at += 4 + p.Length;
        }

        writer.Advance(total);
    }

    public static void WriteEmpty(IBufferWriter<byte> writer, byte kind, long id)
    {
        Begin(writer, kind, id, 0, out var total);
        writer.Advance(total);
    }

    public static void WriteResult(IBufferWriter<byte> writer, long id, ReadOnlySpan<byte> payload)
    {
        var span = Begin(writer, Result, id, payload.Length, out var total);
        payload.CopyTo(span);
        writer.Advance(total);
    }

    public static void WriteBatchResult(IBufferWriter<byte> writer, long id, List<byte[]> payloads)
    {
        var size = 4;
        foreach (var p in payloads)
        {
            size += 4 + p.Length;
        }

        var span = Begin(writer, BatchResult, id, size, out var total);
        BinaryPrimitives.WriteInt32LittleEndian(span, payloads.Count);
        var at = 4;
        foreach (var p in payloads)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], p.Length);
            p.CopyTo(span[(at + 4)..]);
            at += 4 + p.Length;
        }

        writer.Advance(total);
    }

    public static void WriteError(IBufferWriter<byte> writer, long id, string typeName, string message, string stackTrace)
    {
        var t = Encoding.UTF8.GetBytes(typeName);
        var m = Encoding.UTF8.GetBytes(message);
        var s = Encoding.UTF8.GetBytes(stackTrace);
        var span = Begin(writer, Error, id, 12 + t.Length + m.Length + s.Length, out var total);
        var at = 0;
        foreach (var part in (ReadOnlySpan<byte[]>)[t, m, s])
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], part.Length);
            part.CopyTo(span[(at + 4)..]);
            at += 4 + part.Length;
        }

        writer.Advance(total);
    }

    /// <summary>Takes one whole frame (kind, id and body, without the length) off the front of <paramref name="buffer"/>.</summary>
    /// <exception cref="InvalidDataException">The announced length is below the header size or above <paramref name="maxFrameLength"/>.</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameLength, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        if (buffer.Length < LengthSize)
        {
            return false;
        }

        Span<byte> lengthBytes = stackalloc byte[LengthSize];
        buffer.Slice(0, LengthSize).CopyTo(lengthBytes);
        var length = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
        if (length < HeaderSize)
        {
            throw new InvalidDataException($"Corrupt frame length {length} on the worker pipe.");
        }

        if (length > maxFrameLength)
        {
            throw new InvalidDataException(
                $"The worker announced a frame of {length} bytes, more than the {maxFrameLength} bytes ProcessExecutorOptions.MaxFrameBytes allows.");
        }

        if (buffer.Length < LengthSize + length)
        {
            return false;
        }

        frame = buffer.Slice(LengthSize, length);
        buffer = buffer.Slice(LengthSize + length);
        return true;
    }

    public static long ReadId(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadInt64LittleEndian(frame[1..]);

    /// <summary>Reads a length-prefixed part and moves <paramref name="at"/> past it.</summary>
    public static ReadOnlySpan<byte> ReadPart(ReadOnlySpan<byte> body, ref int at)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(body[at..]);
        if (length < 0 || at + 4 + length > body.Length)
        {
            throw new InvalidDataException("Corrupt part length in a worker frame.");
        }

        var part = body.Slice(at + 4, length);
        at += 4 + length;
        return part;
    }

    private static Span<byte> Begin(IBufferWriter<byte> writer, byte kind, long id, int bodyLength, out int total)
    {
        var length = HeaderSize + bodyLength;
        if (bodyLength < 0 || length > MaxFrameLength)
        {
            throw new InvalidOperationException($"A work item message of {bodyLength} bytes is larger than the {MaxFrameLength} bytes a frame may carry.");
        }

        total = LengthSize + length;
        var span = writer.GetSpan(total);
        BinaryPrimitives.WriteInt32LittleEndian(span, length);
        span[LengthSize] = kind;
        BinaryPrimitives.WriteInt64LittleEndian(span[(LengthSize + 1)..], id);
        return span[(LengthSize + HeaderSize)..total];
    }
}
