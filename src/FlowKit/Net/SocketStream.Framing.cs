using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace FlowKit.Net;

/// <content>Framed reads: <see cref="ReadLinesAsync"/> and <see cref="ReadFramesAsync"/>.</content>
public sealed partial class SocketStream
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads UTF-8 lines ended by <c>\n</c> or <c>\r\n</c> (the terminator is removed) until the peer's end of stream; a last line
    /// without a terminator is returned too. Only complete lines are handed out: a line longer than <paramref name="maxLineLength"/>
    /// bytes throws <see cref="LineTooLongException"/> and leaves the stream unusable for reading, never half-read.
    /// </summary>
    /// <param name="maxLineLength">The longest line accepted, in bytes without the terminator; 1 or more. It bounds the memory held.</param>
    /// <param name="cancellationToken">Cancels the wait for the next line.</param>
    /// <returns>The lines.</returns>
    /// <exception cref="LineTooLongException">A line exceeded the limit.</exception>
    /// <exception cref="InvalidDataException">A line was not valid UTF-8 (the line is consumed; the stream stays usable).</exception>
    /// <example>
    /// <code>
    /// await foreach (var line in stream.ReadLinesAsync(maxLineLength: 4096, ct))
    /// {
    ///     await stream.WriteLineAsync(line.ToUpperInvariant(), ct);
    /// }
    /// </code>
    /// </example>
    public IAsyncEnumerable<string> ReadLinesAsync(int maxLineLength, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLineLength);
        ThrowIfDisposed();
        return ReadRecordsAsync(new LineRecords(maxLineLength), cancellationToken);
    }

    /// <summary>
    /// Reads frames made of a 4-byte big-endian length and that many bytes of payload, until the peer's end of stream. Each payload is
    /// valid only until the next item is requested (it is the pipe's buffer when the frame is contiguous); copy it to keep it.
    /// </summary>
    /// <param name="maxFrameSize">The largest payload accepted, in bytes; 1 or more. It bounds the memory held.</param>
    /// <param name="cancellationToken">Cancels the wait for the next frame.</param>
    /// <returns>The payloads.</returns>
    /// <exception cref="FrameTooLargeException">A header announced more than <paramref name="maxFrameSize"/> bytes.</exception>
    /// <exception cref="IncompleteReadException">The stream ended inside a frame.</exception>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> ReadFramesAsync(int maxFrameSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFrameSize);
        ThrowIfDisposed();
        return ReadRecordsAsync(new FrameRecords(maxFrameSize), cancellationToken);
    }

    private async IAsyncEnumerable<T> ReadRecordsAsync<T>(RecordReader<T> records, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnterRead();
        var holding = false;
        ReadOnlySequence<byte> buffer = default;
        var consumed = default(SequencePosition);
        var guard = _transport.Guard;
        try
        {
            while (true)
            {
                var result = await ReadBufferAsync(cancellationToken).ConfigureAwait(false);
                buffer = result.Buffer;
                consumed = buffer.Start;
                holding = true;
                while (TryReadRecord(records, buffer.Slice(consumed), result.IsCompleted, out var record, out var next))
                {
                    // The record is consumed before it is decoded: a record that fails to decode is not read again.
                    Interlocked.Add(ref _bytesReceived, buffer.Slice(consumed, next).Length);
                    consumed = next;
                    guard?.LeaveRecord();
                    yield return records.Decode(record);
                }

                if (result.IsCompleted)
                {
                    yield break;
                }

                if (guard is not null && !buffer.Slice(consumed).IsEmpty)
                {
                    // Waiting for the rest of a started line or frame: the server's minimum data rate applies.
                    guard.EnterRecord();
                }

                holding = false;
                Release(buffer, consumed, buffer.End);
            }
        }
        finally
        {
            guard?.LeaveRecord();
            if (holding)
            {
                // Examined = consumed: what is left may hold whole lines or frames for the next reader.
                Release(buffer, consumed, consumed);
            }

            records.Dispose();
            ExitRead();
        }
    }

    /// <summary>The next record at the front of <paramref name="rest"/> or, once the stream has <paramref name="ended"/>, the last one its
    /// leftovers make; a protocol error (too long, cut short) leaves the stream unusable for reading.</summary>
    private bool TryReadRecord<T>(RecordReader<T> records, ReadOnlySequence<byte> rest, bool ended, out ReadOnlySequence<byte> record, out SequencePosition next)
    {
        try
        {
            if (records.TryRead(rest, out record, out next))
            {
                return true;
            }

            if (ended && !rest.IsEmpty)
            {
                record = records.ReadLast(rest);
                next = rest.End;
                return true;
            }

            return false;
        }
        catch (Exception ex) when (ex is LineTooLongException or FrameTooLargeException or IncompleteReadException)
        {
            MarkReadFault(ex);
            throw;
        }
    }

    /// <summary>How <see cref="ReadRecordsAsync"/> cuts the buffered bytes into records and turns each into what the caller gets.</summary>
    private abstract class RecordReader<T> : IDisposable
    {
        /// <summary>The record at the front of <paramref name="buffer"/>, if it is all there.</summary>
        public abstract bool TryRead(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> record, out SequencePosition next);

        /// <summary>The record formed by what is left at the end of the stream, or a protocol error.</summary>
        public abstract ReadOnlySequence<byte> ReadLast(in ReadOnlySequence<byte> rest);

        public abstract T Decode(in ReadOnlySequence<byte> record);

        public virtual void Dispose()
        {
        }
    }

    /// <summary>UTF-8 lines ended by <c>\n</c> or <c>\r\n</c>; a last line without a terminator counts.</summary>
    private sealed class LineRecords(int maxLineLength) : RecordReader<string>
    {
        public override bool TryRead(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> record, out SequencePosition next) =>
            LineDecoder.TryRead(buffer, maxLineLength, out record, out next);

        public override ReadOnlySequence<byte> ReadLast(in ReadOnlySequence<byte> rest) =>
            rest.Length > maxLineLength ? throw new LineTooLongException(maxLineLength, rest.Length) : rest;

        public override string Decode(in ReadOnlySequence<byte> record)
        {
            try
            {
                return StrictUtf8.GetString(record);
            }
            catch (DecoderFallbackException ex)
            {
                throw new InvalidDataException("A line was not valid UTF-8.", ex);
            }
        }
    }

    /// <summary>Length-prefixed frames. A payload is handed out in place when it is contiguous; only a frame split across pipe
    /// segments is copied, into one reused pooled buffer.</summary>
    private sealed class FrameRecords(int maxFrameSize) : RecordReader<ReadOnlyMemory<byte>>
    {
        private byte[]? _scratch;

        public override bool TryRead(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> record, out SequencePosition next) =>
            FrameDecoder.TryRead(buffer, maxFrameSize, out record, out next);

        public override ReadOnlySequence<byte> ReadLast(in ReadOnlySequence<byte> rest)
        {
            var (read, expected, what) = FrameDecoder.Shortfall(rest);
            throw new IncompleteReadException(read, expected, what);
        }

        public override ReadOnlyMemory<byte> Decode(in ReadOnlySequence<byte> record)
        {
            if (record.IsSingleSegment)
            {
                return record.First;
            }

            var length = (int)record.Length;
            if (_scratch is null || _scratch.Length < length)
            {
                if (_scratch is not null)
                {
                    ArrayPool<byte>.Shared.Return(_scratch);
                }

                _scratch = ArrayPool<byte>.Shared.Rent(length);
            }

            record.CopyTo(_scratch);
            return _scratch.AsMemory(0, length);
        }

        public override void Dispose()
        {
            if (_scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(_scratch);
                _scratch = null;
            }
        }
    }
}
