using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace FlowKit.Net;

/// <summary>One end of an in-memory duplex pair (Trio's <c>memory_stream_pair</c>): two bounded <see cref="Pipe"/>s, one per direction.
/// A writer that fills the peer's pipe waits, exactly as a socket's send buffer would make it.</summary>
internal sealed class MemoryTransport : StreamTransport
{
    private readonly PipeReader _in;
    private readonly PipeWriter _out;
    private readonly DuplexStream _stream;
    private int _closed;
    private int _eofSent;

    private MemoryTransport(PipeReader input, PipeWriter output)
    {
        _in = input;
        _out = output;
        _stream = new DuplexStream(this);
    }

    public override Stream Stream => _stream;

    public override Socket? Socket => null;

    public static (MemoryTransport First, MemoryTransport Second) CreatePair(int capacity)
    {
        // A pause threshold of 1 makes every write wait until the reader has taken everything: the lockstep ("clogged") variant.
        var pause = Math.Max(capacity, 1);
        var options = new PipeOptions(pauseWriterThreshold: pause, resumeWriterThreshold: pause, readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false, minimumSegmentSize: Math.Clamp(capacity, 256, 4096));
        var ab = new Pipe(options);
        var ba = new Pipe(options);
        return (new MemoryTransport(ba.Reader, ab.Writer), new MemoryTransport(ab.Reader, ba.Writer));
    }

    public override ValueTask SendEofAsync()
    {
        if (Interlocked.Exchange(ref _eofSent, 1) == 0)
        {
            _out.Complete();
        }

        return ValueTask.CompletedTask;
    }

    public override ValueTask CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            // Wake a pending read first; completing the reader then makes the peer's writes fail instead of waiting forever.
            _in.CancelPendingRead();
            _out.CancelPendingFlush();
            _in.Complete();
            if (Interlocked.Exchange(ref _eofSent, 1) == 0)
            {
                _out.Complete();
            }
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        var result = await _in.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new ObjectDisposedException(nameof(SocketStream), "The stream was closed while a read was waiting.");
        }

        var buffer = result.Buffer;
        if (buffer.IsEmpty)
        {
            _in.AdvanceTo(buffer.End);
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, destination.Length);
        var slice = buffer.Slice(0, count);
        slice.CopyTo(destination.Span);
        _in.AdvanceTo(slice.End);
        return count;
    }

    private async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            throw new ObjectDisposedException(nameof(SocketStream));
        }

        var result = await _out.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new ObjectDisposedException(nameof(SocketStream), "The stream was closed while a write was waiting.");
        }

        if (result.IsCompleted)
        {
            throw new IOException("The peer closed the in-memory stream.");
        }
    }

    private sealed class DuplexStream(MemoryTransport owner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) =>
            throw new NotSupportedException("The in-memory stream is asynchronous only.");

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) =>
            throw new NotSupportedException("The in-memory stream is asynchronous only.");

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            owner.ReadAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            owner.WriteAsync(buffer, cancellationToken);

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
