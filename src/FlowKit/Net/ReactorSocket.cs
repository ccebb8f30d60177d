using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace FlowKit.Net;

/// <summary>
/// A non-blocking socket driven by an <see cref="EpollReactor"/>, seen as a <see cref="Stream"/>. Each operation first tries the
/// system call directly; only when it would block does it wait, and then the I/O thread finishes it and resumes the caller inline.
/// One read and one write may be pending at a time (the <see cref="SocketStream"/> above enforces it).
/// </summary>
internal sealed class ReactorSocket : Stream
{
    private readonly EpollReactor _reactor;
    private readonly Socket _socket;
    private readonly Direction _read;
    private readonly Direction _write;
    private int _closed;

    public ReactorSocket(EpollReactor reactor, Socket socket, ulong id)
    {
        _reactor = reactor;
        _socket = socket;
        Id = id;
        _read = new Direction(this, isRead: true);
        _write = new Direction(this, isRead: false);
    }

    public ulong Id { get; }

    /// <summary>The server limits watching this socket, told when an operation starts waiting, progresses and ends; null for none.</summary>
    internal ConnectionGuard? Guard { get; set; }

    /// <summary>Whether the I/O thread still knows this socket (for tests: a closed socket must be forgotten).</summary>
    internal bool IsRegistered => _reactor.IsRegistered(Id);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        return _read.StartRead(buffer, cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        return _write.StartWrite(buffer, cancellationToken);
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

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    internal void OnEvents(uint events)
    {
        const uint errors = EpollInterop.EpollErr | EpollInterop.EpollHup;
        if ((events & (EpollInterop.EpollIn | EpollInterop.EpollRdHup | errors)) != 0)
        {
            _read.OnReady(events);
        }

        if ((events & (EpollInterop.EpollOut | errors)) != 0)
        {
            _write.OnReady(events);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _closed, 1) == 0)
        {
            // Close both directions first: from here every operation, pending or later, ends with ObjectDisposedException, whatever
            // the socket underneath says (a read after a short one would otherwise wait for an edge that a closed socket never raises).
            _read.Abort();
            _write.Abort();
            Forget();
            _socket.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Takes the socket out of its I/O thread: the epoll set when the descriptor is still open (the kernel drops a closed one
    /// by itself), and the reactor's table always, even when the user disposed <see cref="Socket"/> directly.</summary>
    private void Forget()
    {
        var added = false;
        var fd = -1;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref added);
            fd = (int)_socket.SafeHandle.DangerousGetHandle();
        }
        catch (ObjectDisposedException)
        {
            // The socket was disposed under us: its descriptor is gone, and with it the epoll registration.
        }

        try
        {
            _reactor.Unregister(this, added ? fd : -1);
        }
        finally
        {
            if (added)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>Called when a system call finds the socket disposed underneath (the user closed <see cref="Socket"/> itself): the
    /// reactor forgets it at once rather than holding it until the stream is disposed.</summary>
    private void OnSocketDisposed()
    {
        if (Volatile.Read(ref _closed) == 0)
        {
            _reactor.Unregister(this, -1);
        }
    }

    /// <summary>One direction's pending operation: a reusable value-task source completed by the caller, the I/O thread, a
    /// cancellation or the close, whichever comes first (the lock makes exactly one of them win).</summary>
    private sealed class Direction(ReactorSocket owner, bool isRead) : IValueTaskSource<int>, IValueTaskSource
    {
        private readonly object _gate = new();
        private ManualResetValueTaskSourceCore<int> _core;
        private Memory<byte> _readBuffer;
        private ReadOnlyMemory<byte> _writeRemaining;
        private int _writeTotal;
        private bool _pending;
        private bool _closed;
        private bool _readable = true;

        // Sticky once the peer has shut down or reset: its end-of-stream or error is still to be read after any short read.
        private bool _hangup;
        private CancellationToken _token;
        private CancellationTokenRegistration _registration;

        public ValueTask<int> StartRead(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return ValueTask.FromException<int>(Closed());
                }

                if (buffer.IsEmpty)
                {
                    // A zero-byte read waits for data without holding a buffer (the pipe reader asks so before renting one, which is
                    // what keeps an idle connection's memory small). When the socket may be readable, a peek finds out; after a short
                    // read it is known drained and the read waits for the edge without a system call.
                    if (_hangup || (_readable && owner.Peek()))
                    {
                        return new ValueTask<int>(0);
                    }

                    _readable = false;
                    _readBuffer = buffer;
                    return Pend(cancellationToken);
                }

                // After a short read the queue was empty, and any later arrival raises an edge that sets _readable again: waiting
                // straight away saves the receive that would only say EAGAIN (one system call per request in ping-pong traffic).
                // A peer's FIN or RST is not "data" a short read drains, so once one has been signalled (_hangup) reads always try.
                if (_readable)
                {
                    var n = owner.TryReceive(buffer.Span, out var error);
                    if (n >= 0)
                    {
                        _readable = n == 0 || n == buffer.Length || _hangup;
                        if (n > 0 && owner.Guard is { } guard)
                        {
                            guard.ReadEnded(n);
                        }

                        return new ValueTask<int>(n);
                    }

                    if (error is not null)
                    {
                        return ValueTask.FromException<int>(error);
                    }

                    _readable = false;
                }

                _readBuffer = buffer;
                return Pend(cancellationToken);
            }
        }

        public ValueTask StartWrite(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return ValueTask.FromException(Closed());
                }

                var error = owner.SendSome(ref buffer);
                if (error is not null)
                {
                    return ValueTask.FromException(error);
                }

                if (buffer.IsEmpty)
                {
                    return ValueTask.CompletedTask;
                }

                _writeRemaining = buffer;
                _writeTotal = buffer.Length;
                _ = Pend(cancellationToken);
                return new ValueTask(this, _core.Version);
            }
        }

        public void OnReady(uint events)
        {
            Exception? error;
            int result;
            CancellationTokenRegistration registration;
            lock (_gate)
            {
                if (isRead)
                {
                    _readable = true;
                    _hangup |= (events & (EpollInterop.EpollRdHup | EpollInterop.EpollHup | EpollInterop.EpollErr)) != 0;
                }

                if (!_pending || _closed)
                {
                    return;
                }

                if (isRead && _readBuffer.IsEmpty)
                {
                    // A pending zero-byte read: the edge says data (or an end) is there; the caller's next read takes it.
                    result = 0;
                    error = null;
                }
                else if (isRead)
                {
                    result = owner.TryReceive(_readBuffer.Span, out error);
                    if (result < 0 && error is null)
                    {
                        _readable = false;
                        return;
                    }

                    _readable = result == 0 || result == _readBuffer.Length || error is not null || _hangup;
                    if (result > 0)
                    {
                        owner.Guard?.ReadEnded(result);
                    }
                }
                else
                {
                    var before = _writeRemaining.Length;
                    error = owner.SendSome(ref _writeRemaining);
                    if (error is null && !_writeRemaining.IsEmpty)
                    {
                        if (_writeRemaining.Length != before)
                        {
                            // The peer took some bytes: progress, for the idle timeout.
                            owner.Guard?.WriteProgress(writing: true);
                        }

                        return;
                    }

                    result = _writeTotal;
                }

                registration = Finish();
            }

            Complete(registration, result, error);
        }

        public void Abort()
        {
            CancellationTokenRegistration registration;
            lock (_gate)
            {
                _closed = true;
                if (!_pending)
                {
                    return;
                }

                registration = Finish();
            }

            Complete(registration, 0, new ObjectDisposedException(nameof(SocketStream), "The socket was closed while an operation was pending."));
        }

        private static ObjectDisposedException Closed() => new(nameof(SocketStream), "The socket is closed.");

        public int GetResult(short token) => _core.GetResult(token);

        void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        private static void Complete(CancellationTokenRegistration registration, int result, Exception? error, Direction direction)
        {
            registration.Unregister();
            if (error is null)
            {
                direction._core.SetResult(result);
            }
            else
            {
                direction._core.SetException(error);
            }
        }

        private void Complete(CancellationTokenRegistration registration, int result, Exception? error) => Complete(registration, result, error, this);

        private ValueTask<int> Pend(CancellationToken cancellationToken)
        {
            _core.Reset();
            _core.RunContinuationsAsynchronously = false;
            _pending = true;
            if (owner.Guard is { } guard)
            {
                if (isRead)
                {
                    guard.ReadStarted();
                }
                else
                {
                    guard.WriteProgress(writing: true);
                }
            }
            _token = cancellationToken;
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (s, t) => ((Direction)s!).Cancel(t), this);
            }

            return new ValueTask<int>(this, _core.Version);
        }

        private CancellationTokenRegistration Finish()
        {
            _pending = false;
            if (owner.Guard is { } guard)
            {
                if (isRead)
                {
                    guard.ReadEnded(0);
                }
                else
                {
                    guard.WriteProgress(writing: false);
                }
            }

            _readBuffer = default;
            _writeRemaining = default;
            var registration = _registration;
            _registration = default;
            _token = default;
            return registration;
        }

        private void Cancel(CancellationToken token)
        {
            CancellationTokenRegistration registration;
            lock (_gate)
            {
                if (!_pending || _token != token)
                {
                    return;
                }

                registration = Finish();
            }

            Complete(registration, 0, new OperationCanceledException(token));
        }
    }

    /// <summary>Receives without blocking: the count (0 at end of stream), or -1 with no error when it would block.</summary>
    private int TryReceive(Span<byte> buffer, out Exception? error)
    {
        error = null;
        var added = false;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref added);
            var fd = (int)_socket.SafeHandle.DangerousGetHandle();
            while (true)
            {
                var n = EpollInterop.recv(fd, ref MemoryMarshal.GetReference(buffer), buffer.Length, 0);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollInterop.EIntr)
                {
                    continue;
                }

                if (errno != EpollInterop.EAgain)
                {
                    error = new SocketException((int)EpollInterop.ToSocketError(errno));
                }

                return -1;
            }
        }
        catch (ObjectDisposedException ex)
        {
            OnSocketDisposed();
            error = ex;
            return -1;
        }
        finally
        {
            if (added)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>Whether a read would not block now: data, an end of stream or an error is waiting (a one-byte <c>MSG_PEEK</c>).</summary>
    private bool Peek()
    {
        var added = false;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref added);
            var fd = (int)_socket.SafeHandle.DangerousGetHandle();
            byte probe = 0;
            while (true)
            {
                var n = EpollInterop.recv(fd, ref probe, 1, EpollInterop.MsgPeek);
                if (n >= 0)
                {
                    return true;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != EpollInterop.EIntr)
                {
                    return errno != EpollInterop.EAgain;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed under us: the real read reports it.
            return true;
        }
        finally
        {
            if (added)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>Sends as much as the socket takes now, advancing <paramref name="remaining"/>; returns the error, if any.</summary>
    private Exception? SendSome(ref ReadOnlyMemory<byte> remaining)
    {
        var added = false;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref added);
            var fd = (int)_socket.SafeHandle.DangerousGetHandle();
            while (!remaining.IsEmpty)
            {
                var span = remaining.Span;
                var n = EpollInterop.send(fd, ref MemoryMarshal.GetReference(span), span.Length, EpollInterop.MsgNoSignal);
                if (n >= 0)
                {
                    remaining = remaining[(int)n..];
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollInterop.EIntr)
                {
                    continue;
                }

                return errno == EpollInterop.EAgain ? null : new SocketException((int)EpollInterop.ToSocketError(errno));
            }

            return null;
        }
        catch (ObjectDisposedException ex)
        {
            OnSocketDisposed();
            return ex;
        }
        finally
        {
            if (added)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }
}
