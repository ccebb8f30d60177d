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
internal sealed partial class OutputPump
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

    /// <summary>Returns the pipe's buffers to the pool, unless a reader is still active (it then sees the writer's completion instead).</summary>
    public void CompleteReader()
    {
        if (_pipe is not null && Interlocked.CompareExchange(ref _readerActive, 1, 0) == 0)
        {
            _pipe.Reader.Complete();
        }
    }
}
