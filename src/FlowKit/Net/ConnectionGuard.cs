using System.Net;

namespace FlowKit.Net;

/// <summary>
/// One accepted connection's watch: the server's heartbeat checks it against the time limits (handshake, idle, minimum data rate), and
/// the stream wrapped around the raw transport (<see cref="Wrap"/>) tells it when reads and writes start, progress and end. Every check
/// compares timestamps, so a heartbeat that fires a little early only finds nothing due yet and looks again on the next beat.
/// </summary>
internal sealed class ConnectionGuard
{
    private const int WriteChunk = 64 * 1024;

    private readonly SocketServer _server;
    private readonly SocketServerOptions _limits;
    private readonly TimeProvider _time;
    private Stream? _inner;
    private long _bytes;
    private long _readStart;
    private int _reading;
    private long _writeProgress;
    private int _writing;
    private long _handshakeStart;
    private long _recordStart;
    private long _recordBytes;
    private int _released;
    private ConnectionLimitException? _fault;

    public ConnectionGuard(SocketServer server, SocketServerOptions limits, TimeProvider time, IPAddress? address)
    {
        _server = server;
        _limits = limits;
        _time = time;
        Address = address;
    }

    /// <summary>The peer's address, when it is counted against <see cref="SocketServerOptions.MaxConnectionsPerAddress"/>.</summary>
    public IPAddress? Address { get; }

    /// <summary>Set once a limit was hit: what the stream's operations throw from then on.</summary>
    public ConnectionLimitException? Fault => Volatile.Read(ref _fault);

    // For tests: what the heartbeat sees.
    internal bool IsReading => Volatile.Read(ref _reading) != 0;

    internal bool IsWriting => Volatile.Read(ref _writing) != 0;

    internal bool InHandshake => Volatile.Read(ref _handshakeStart) != 0;

    internal bool InRecord => Volatile.Read(ref _recordStart) != 0;

    internal long BytesReceived => Interlocked.Read(ref _bytes);

    public long MaxBufferedBytes => _limits.MaxBufferedBytesPerConnection ?? long.MaxValue;

    /// <summary>Watches <paramref name="inner"/> through a stream that stamps each read and write (the thread-pool transport).</summary>
    public Stream Wrap(Stream inner)
    {
        _inner = inner;
        return new GuardedStream(this, inner);
    }

    /// <summary>Watches a socket on FlowKit's I/O threads, which reports to the guard itself when an operation parks, progresses or
    /// ends: an operation that completes at once only adds its byte count.</summary>
    public Stream Attach(ReactorSocket inner)
    {
        _inner = inner;
        inner.Guard = this;
        return inner;
    }

    public void BeginHandshake()
    {
        if (_limits.HandshakeTimeout is not null)
        {
            Volatile.Write(ref _handshakeStart, Math.Max(1, _time.GetTimestamp()));
        }
    }

    public void EndHandshake() => Volatile.Write(ref _handshakeStart, 0);

    /// <summary>A reader is waiting for the rest of a line, frame or exact read: from now on the minimum data rate applies.</summary>
    public void EnterRecord()
    {
        if (Volatile.Read(ref _recordStart) == 0)
        {
            Volatile.Write(ref _recordBytes, Interlocked.Read(ref _bytes));
            Volatile.Write(ref _recordStart, Math.Max(1, _time.GetTimestamp()));
        }
    }

    public void LeaveRecord() => Volatile.Write(ref _recordStart, 0);

    /// <summary>The heartbeat: trips the first limit that is due.</summary>
    public void Check()
    {
        if (Fault is not null)
        {
            return;
        }

        var now = _time.GetTimestamp();
        var handshakeStart = Volatile.Read(ref _handshakeStart);
        if (handshakeStart != 0 && _limits.HandshakeTimeout is { } handshake && _time.GetElapsedTime(handshakeStart, now) >= handshake)
        {
            Trip(ConnectionLimit.HandshakeTimeout, $"The TLS handshake did not finish within {handshake.TotalSeconds:0.###} s (HandshakeTimeout).");
            return;
        }

        if (_limits.IdleTimeout is { } idle)
        {
            if (Volatile.Read(ref _reading) != 0 && _time.GetElapsedTime(Volatile.Read(ref _readStart), now) >= idle)
            {
                Trip(ConnectionLimit.IdleTimeout, $"No bytes arrived for {idle.TotalSeconds:0.###} s while reading (IdleTimeout).");
                return;
            }

            if (Volatile.Read(ref _writing) != 0 && _time.GetElapsedTime(Volatile.Read(ref _writeProgress), now) >= idle)
            {
                Trip(ConnectionLimit.IdleTimeout, $"The peer took no bytes for {idle.TotalSeconds:0.###} s while writing (IdleTimeout).");
                return;
            }
        }

        var recordStart = Volatile.Read(ref _recordStart);
        if (recordStart != 0 && Volatile.Read(ref _reading) != 0 && _limits.MinDataRate is { } rate && rate > 0)
        {
            var elapsed = _time.GetElapsedTime(recordStart, now);
            var received = Interlocked.Read(ref _bytes) - Volatile.Read(ref _recordBytes);
            if (elapsed > _limits.MinDataRateGracePeriod && received < rate * elapsed.TotalSeconds)
            {
                Trip(ConnectionLimit.MinDataRate,
                    $"The peer sent {received} bytes in {elapsed.TotalSeconds:0.###} s of a started record, under the minimum of {rate} bytes/s (MinDataRate).");
            }
        }
    }

    /// <summary>Records <paramref name="limit"/> as hit and counts it; a timeout also closes the transport, which wakes its pending
    /// operations (they then throw the fault).</summary>
    public ConnectionLimitException Trip(ConnectionLimit limit, string message, bool close = true)
    {
        var fault = new ConnectionLimitException(limit, message);
        if (Interlocked.CompareExchange(ref _fault, fault, null) is { } earlier)
        {
            return earlier;
        }

        _server.CountLimit(limit);
        if (close && _inner is { } inner)
        {
            // Not on the heartbeat: closing resumes the connection's awaiting code inline, which must not delay the other checks.
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Dispose(), inner, preferLocal: false);
        }

        return fault;
    }

    /// <summary>The connection is closed: stop watching it and free its per-address count. Idempotent.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _server.Release(this);
        }
    }

    internal void ReadStarted()
    {
        Volatile.Write(ref _readStart, _time.GetTimestamp());
        Volatile.Write(ref _reading, 1);
    }

    internal void ReadEnded(int count)
    {
        Interlocked.Add(ref _bytes, count);
        Volatile.Write(ref _reading, 0);
    }

    internal void WriteProgress(bool writing)
    {
        Volatile.Write(ref _writeProgress, _time.GetTimestamp());
        Volatile.Write(ref _writing, writing ? 1 : 0);
    }

    /// <summary>The raw transport as the guard sees it: reads and writes pass straight through, stamped; large writes go in 64 KiB
    /// pieces so that a slow but live peer shows progress.</summary>
    private sealed class GuardedStream(ConnectionGuard guard, Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            guard.ReadStarted();
            ValueTask<int> pending;
            try
            {
                pending = inner.ReadAsync(buffer, cancellationToken);
            }
            catch
            {
                guard.ReadEnded(0);
                throw;
            }

            if (pending.IsCompletedSuccessfully)
            {
                // Read the result once and hand out a plain value: the transport's value-task source is reusable.
                var count = pending.Result;
                guard.ReadEnded(count);
                return new ValueTask<int>(count);
            }

            return AwaitReadAsync(pending);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.Length > WriteChunk)
            {
                return WriteChunkedAsync(buffer, cancellationToken);
            }

            guard.WriteProgress(writing: true);
            ValueTask pending;
            try
            {
                pending = inner.WriteAsync(buffer, cancellationToken);
            }
            catch
            {
                guard.WriteProgress(writing: false);
                throw;
            }

            if (pending.IsCompletedSuccessfully)
            {
                pending.GetAwaiter().GetResult();
                guard.WriteProgress(writing: false);
                return ValueTask.CompletedTask;
            }

            return AwaitWriteAsync(pending);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous only.");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous only.");

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                guard.Release();
            }

            base.Dispose(disposing);
        }

        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<int> AwaitReadAsync(ValueTask<int> pending)
        {
            var count = 0;
            try
            {
                count = await pending.ConfigureAwait(false);
                return count;
            }
            finally
            {
                guard.ReadEnded(count);
            }
        }

        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
        private async ValueTask AwaitWriteAsync(ValueTask pending)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            finally
            {
                guard.WriteProgress(writing: false);
            }
        }

        private async ValueTask WriteChunkedAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
        {
            try
            {
                while (!buffer.IsEmpty)
                {
                    var piece = buffer[..Math.Min(WriteChunk, buffer.Length)];
                    guard.WriteProgress(writing: true);
                    await inner.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
                    buffer = buffer[piece.Length..];
                }
            }
            finally
            {
                guard.WriteProgress(writing: false);
            }
        }
    }
}
