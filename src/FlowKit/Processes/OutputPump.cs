using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;

namespace FlowKit.Processes;

/// <summary>
/// Drains one of a child's output pipes on its own task. In pipe mode the bytes go into a <see cref="Pipe"/> whose pause
/// threshold is the output buffer limit, so an idle consumer stops the reads (and then the child) instead of growing memory;
/// in drain mode they are dropped. Either way the last bytes can be kept in a <see cref="ByteTail"/>.
/// </summary>
internal sealed class OutputPump
{
    private readonly Pipe? _pipe;
    private readonly ByteTail? _tail;
    private readonly int _readSize;
    private readonly int _maxLineLength;
    private readonly Encoding _encoding;
    private readonly string _streamName;
    private readonly ArrayBufferWriter<byte> _pending = new();
    private int _readerActive;
    private long _bytes;
    private long _pauses;

    public OutputPump(bool piped, ByteTail? tail, int bufferLimit, int readSize, int maxLineLength, Encoding encoding, string streamName)
    {
        if (piped)
        {
            var pause = Math.Max(1, bufferLimit);
            _pipe = new Pipe(new PipeOptions(
                pauseWriterThreshold: pause,
                resumeWriterThreshold: Math.Max(1, pause / 2),
                minimumSegmentSize: Math.Min(readSize, 64 * 1024),
                useSynchronizationContext: false));
        }

        _tail = tail;
        _readSize = readSize;
        _maxLineLength = maxLineLength;
        _encoding = encoding;
        _streamName = streamName;
    }

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Pauses => Interlocked.Read(ref _pauses);

    public bool IsPiped => _pipe is not null;

    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Start(Stream source, CancellationToken cancellationToken) =>
        Completion = _pipe is null ? DrainAsync(source, cancellationToken) : PumpAsync(source, _pipe.Writer, cancellationToken);

    private async Task PumpAsync(Stream source, PipeWriter writer, CancellationToken cancellationToken)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(_readSize);
                memory = memory[..Math.Min(memory.Length, _readSize)];
                var read = await source.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                _tail?.Append(memory.Span[..read]);
                Interlocked.Add(ref _bytes, read);
                writer.Advance(read);
                var flush = writer.FlushAsync(cancellationToken);
                if (!flush.IsCompleted)
                {
                    Interlocked.Increment(ref _pauses);
                }

                if ((await flush.ConfigureAwait(false)).IsCompleted)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error = new ObjectDisposedException(nameof(Subprocess), $"The subprocess handle was disposed while its {_streamName} was being read.");
        }
        catch (Exception ex)
        {
            error = ex;
        }

        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task DrainAsync(Stream source, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(_readSize, 64 * 1024));
        try
        {
            while (true)
            {
                var read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                _tail?.Append(buffer.AsSpan(0, read));
                Interlocked.Add(ref _bytes, read);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposal stops draining; nobody reads a drained stream.
        }
        catch (IOException)
        {
            // The pipe broke while the handle was being torn down; a drained stream has no reader to tell.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async IAsyncEnumerable<string> ReadLinesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = EnterReader();
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                var consumed = buffer.Start;
                try
                {
                    while (TryTakeLine(ref buffer, out var line))
                    {
                        consumed = buffer.Start;
                        yield return line;
                    }

                    // Keep a partial line aside and consume it, so a line longer than the buffer limit cannot stall the pipe.
                    if (!buffer.IsEmpty)
                    {
                        if (_pending.WrittenCount + buffer.Length > _maxLineLength)
                        {
                            throw new InvalidDataException($"A line of the child's {_streamName} is longer than MaxLineLength ({_maxLineLength} bytes).");
                        }

                        foreach (var segment in buffer)
                        {
                            _pending.Write(segment.Span);
                        }

                        consumed = buffer.End;
                    }
                }
                finally
                {
                    reader.AdvanceTo(consumed);
                }

                if (result.IsCompleted)
                {
                    if (_pending.WrittenCount > 0)
                    {
                        var last = Decode(ReadOnlySpan<byte>.Empty);
                        yield return last;
                    }

                    yield break;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _readerActive, 0);
        }
    }

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

    /// <summary>Returns the pipe's buffers to the pool, unless a reader is still active (it then sees the writer's completion instead).</summary>
    public void CompleteReader()
    {
        if (_pipe is not null && Interlocked.CompareExchange(ref _readerActive, 1, 0) == 0)
        {
            _pipe.Reader.Complete();
        }
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
}
