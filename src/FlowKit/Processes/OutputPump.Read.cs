using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace FlowKit.Processes;

/// <summary>The reading side: lines, chunks and whole text out of the pipe, one reader at a time.</summary>
internal sealed partial class OutputPump
{
    public IAsyncEnumerable<string> ReadLinesAsync(CancellationToken cancellationToken) => new LineEnumerable(this, cancellationToken);

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = EnterReader();
        try
        {
            if (_pending.WrittenCount > 0)
            {
                var pending = _pending.WrittenMemory.ToArray();
                _pending.Clear();
                yield return pending;
            }

            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                var consumed = buffer.Start;
                try
                {
                    foreach (var segment in buffer)
                    {
                        if (segment.IsEmpty)
                        {
                            continue;
                        }

                        // Marked consumed before the yield: the finally releases it only once the caller has moved on or stopped.
                        consumed = buffer.GetPosition(segment.Length, consumed);
                        yield return segment;
                    }
                }
                finally
                {
                    reader.AdvanceTo(consumed);
                }

                if (result.IsCompleted)
                {
                    yield break;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _readerActive, 0);
        }
    }

    public async Task<string> ReadToEndAsync(int maxBytes, CancellationToken cancellationToken)
    {
        var all = new ArrayBufferWriter<byte>();
        await foreach (var chunk in ReadChunksAsync(cancellationToken).ConfigureAwait(false))
        {
            if (all.WrittenCount + chunk.Length > maxBytes)
            {
                throw new InvalidDataException($"The child's {_streamName} is longer than MaxCaptureBytes ({maxBytes} bytes).");
            }

            all.Write(chunk.Span);
        }

        return _encoding.GetString(all.WrittenSpan);
    }

    private PipeReader EnterReader()
    {
        if (_pipe is null)
        {
            throw new InvalidOperationException($"The child's {_streamName} is not piped to the caller; set it to SubprocessOutput.Pipe in SubprocessOptions to read it.");
        }

        if (Interlocked.Exchange(ref _readerActive, 1) != 0)
        {
            throw new InvalidOperationException($"The child's {_streamName} is already being read; only one reader at a time is allowed.");
        }

        return _pipe.Reader;
    }

    private bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out string line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is null)
        {
            line = string.Empty;
            return false;
        }

        var slice = buffer.Slice(0, newline.Value);
        if (_pending.WrittenCount + slice.Length > _maxLineLength)
        {
            throw new InvalidDataException($"A line of the child's {_streamName} is longer than MaxLineLength ({_maxLineLength} bytes).");
        }

        line = slice.IsSingleSegment && _pending.WrittenCount == 0 ? Decode(slice.FirstSpan) : DecodeJoined(slice);
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        return true;
    }

    private string DecodeJoined(ReadOnlySequence<byte> slice)
    {
        foreach (var segment in slice)
        {
            _pending.Write(segment.Span);
        }

        return Decode(ReadOnlySpan<byte>.Empty);
    }

    private string Decode(ReadOnlySpan<byte> bytes)
    {
        if (_pending.WrittenCount > 0)
        {
            var joined = _pending.WrittenSpan;
            var text = joined.Length > 0 && joined[^1] == (byte)'\r' ? _encoding.GetString(joined[..^1]) : _encoding.GetString(joined);
            _pending.Clear();
            return text;
        }

        return bytes.Length > 0 && bytes[^1] == (byte)'\r' ? _encoding.GetString(bytes[..^1]) : _encoding.GetString(bytes);
    }

    private sealed class LineEnumerable(OutputPump pump, CancellationToken cancellationToken) : IAsyncEnumerable<string>
    {
        public IAsyncEnumerator<string> GetAsyncEnumerator(CancellationToken enumeratorToken = default)
        {
            if (!enumeratorToken.CanBeCanceled || enumeratorToken == cancellationToken)
            {
                return pump.OpenLineReader(cancellationToken);
            }

            if (!cancellationToken.CanBeCanceled)
            {
                return pump.OpenLineReader(enumeratorToken);
            }

            // Both tokens apply (as with [EnumeratorCancellation]); the reader disposes the link when it is disposed.
            var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, enumeratorToken);
            try
            {
                return pump.OpenLineReader(linked.Token, linked);
            }
            catch
            {
                linked.Dispose();
                throw;
            }
        }
    }
}
