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
        return ReadLinesCoreAsync(maxLineLength, cancellationToken);
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
        return ReadFramesCoreAsync(maxFrameSize, cancellationToken);
    }

    private static string DecodeLine(in ReadOnlySequence<byte> line)
    {
        try
        {
            return StrictUtf8.GetString(line);
        }
        catch (DecoderFallbackException ex)
        {
            throw new InvalidDataException("A line was not valid UTF-8.", ex);
        }
    }

    private async IAsyncEnumerable<string> ReadLinesCoreAsync(int maxLineLength, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnterRead();
        var holding = false;
        ReadOnlySequence<byte> buffer = default;
        var consumed = default(SequencePosition);
        try
        {
            while (true)
            {
                var result = await ReadBufferAsync(cancellationToken).ConfigureAwait(false);
                buffer = result.Buffer;
                consumed = buffer.Start;
                holding = true;
                while (true)
                {
                    ReadOnlySequence<byte> line;
                    SequencePosition next;
                    try
                    {
                        if (!LineDecoder.TryRead(buffer.Slice(consumed), maxLineLength, out line, out next))
                        {
                            break;
                        }
                    }
                    catch (LineTooLongException ex)
                    {
                        MarkReadFault(ex);
                        throw;
                    }

                    var length = buffer.Slice(consumed, next).Length;
                    consumed = next;
                    Interlocked.Add(ref _bytesReceived, length);
                    yield return DecodeLine(line);
                }

                if (result.IsCompleted)
                {
                    var rest = buffer.Slice(consumed);
                    if (!rest.IsEmpty)
                    {
                        if (rest.Length > maxLineLength)
                        {
                            var tooLong = new LineTooLongException(maxLineLength, rest.Length);
                            MarkReadFault(tooLong);
                            throw tooLong;
                        }

                        consumed = buffer.End;
                        Interlocked.Add(ref _bytesReceived, rest.Length);
                        yield return DecodeLine(rest);
                    }

                    yield break;
                }

                holding = false;
                Release(buffer, consumed, buffer.End);
            }
        }
        finally
        {
            if (holding)
            {
                // Examined = consumed: what is left may hold whole lines or frames for the next reader.
                Release(buffer, consumed, consumed);
            }

            ExitRead();
        }
    }

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadFramesCoreAsync(int maxFrameSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnterRead();
        var holding = false;
        ReadOnlySequence<byte> buffer = default;
        var consumed = default(SequencePosition);
        byte[]? scratch = null;
        try
        {
            while (true)
            {
                var result = await ReadBufferAsync(cancellationToken).ConfigureAwait(false);
                buffer = result.Buffer;
                consumed = buffer.Start;
                holding = true;
                while (true)
                {
                    ReadOnlySequence<byte> payload;
                    SequencePosition next;
                    try
                    {
                        if (!FrameDecoder.TryRead(buffer.Slice(consumed), maxFrameSize, out payload, out next))
                        {
                            break;
                        }
                    }
                    catch (FrameTooLargeException ex)
                    {
                        MarkReadFault(ex);
                        throw;
                    }

                    consumed = next;
                    Interlocked.Add(ref _bytesReceived, payload.Length + FrameDecoder.HeaderSize);
                    if (payload.IsSingleSegment)
                    {
                        yield return payload.First;
                    }
                    else
                    {
                        // Only a frame split across pipe segments is copied, into one reused buffer.
                        var length = (int)payload.Length;
                        if (scratch is null || scratch.Length < length)
                        {
                            if (scratch is not null)
                            {
                                ArrayPool<byte>.Shared.Return(scratch);
                            }

                            scratch = ArrayPool<byte>.Shared.Rent(length);
                        }

                        payload.CopyTo(scratch);
                        yield return scratch.AsMemory(0, length);
                    }
                }

                if (result.IsCompleted)
                {
                    var rest = buffer.Slice(consumed);
                    if (!rest.IsEmpty)
                    {
                        var (read, expected, what) = FrameDecoder.Shortfall(rest);
                        var incomplete = new IncompleteReadException(read, expected, what);
                        MarkReadFault(incomplete);
                        throw incomplete;
                    }

                    yield break;
                }

                holding = false;
                Release(buffer, consumed, buffer.End);
            }
        }
        finally
        {
            if (holding)
            {
                // Examined = consumed: what is left may hold whole lines or frames for the next reader.
                Release(buffer, consumed, consumed);
            }

            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            ExitRead();
        }
    }
}
