using System.Buffers;

namespace FlowKit.Net;

/// <summary>Finds one <c>\n</c>- or <c>\r\n</c>-terminated line at the start of a buffer, examining at most the limit plus the terminator.</summary>
internal static class LineDecoder
{
    /// <summary>Returns true and the line (terminator removed) and its end; false when more bytes are needed.</summary>
    /// <exception cref="LineTooLongException">The buffer holds more than <paramref name="maxLineLength"/> bytes without an end of line.</exception>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, int maxLineLength, out ReadOnlySequence<byte> line, out SequencePosition next)
    {
        if (buffer.IsSingleSegment)
        {
            return TryReadSpan(buffer, maxLineLength, out line, out next);
        }

        // A line of maxLineLength bytes plus "\r\n" is the most we ever need to look at.
        var window = buffer.Length > (long)maxLineLength + 2 ? buffer.Slice(0, (long)maxLineLength + 2) : buffer;
        var newline = window.PositionOf((byte)'\n');
        if (newline is null)
        {
            if (buffer.Length > (long)maxLineLength + 1)
            {
                throw new LineTooLongException(maxLineLength, buffer.Length);
            }

            line = default;
            next = default;
            return false;
        }

        line = buffer.Slice(0, newline.Value);
        next = buffer.GetPosition(1, newline.Value);
        if (!line.IsEmpty && EndsWithCarriageReturn(line))
        {
            line = line.Slice(0, line.Length - 1);
        }

        if (line.Length > maxLineLength)
        {
            throw new LineTooLongException(maxLineLength, line.Length);
        }

        return true;
    }

    /// <summary>The same over one contiguous segment, with span searches (the common case: a line inside one pipe segment).</summary>
    private static bool TryReadSpan(in ReadOnlySequence<byte> buffer, int maxLineLength, out ReadOnlySequence<byte> line, out SequencePosition next)
    {
        var span = buffer.FirstSpan;
        var window = (int)Math.Min(span.Length, (long)maxLineLength + 2);
        var newline = span[..window].IndexOf((byte)'\n');
        if (newline < 0)
        {
            if (span.Length > (long)maxLineLength + 1)
            {
                throw new LineTooLongException(maxLineLength, span.Length);
            }

            line = default;
            next = default;
            return false;
        }

        var length = newline > 0 && span[newline - 1] == (byte)'\r' ? newline - 1 : newline;
        if (length > maxLineLength)
        {
            throw new LineTooLongException(maxLineLength, length);
        }

        line = buffer.Slice(0, length);
        next = buffer.GetPosition(newline + 1);
        return true;
    }

    private static bool EndsWithCarriageReturn(in ReadOnlySequence<byte> line)
    {
        var last = line.Slice(line.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }
}
