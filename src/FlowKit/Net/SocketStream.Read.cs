using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace FlowKit.Net;

/// <content>Raw reads: <see cref="ReceiveSomeAsync"/>, <see cref="ReadExactlyAsync(Memory{byte}, CancellationToken)"/> and
/// <see cref="ReadChunksAsync"/>.</content>
public sealed partial class SocketStream
{
    /// <summary>
    /// Receives whatever is available, up to <paramref name="buffer"/>'s length, waiting until at least one byte arrives (Trio's
    /// <c>receive_some</c>). Returns 0 once the peer has sent its end of stream. When nothing is buffered the bytes go straight from the
    /// socket into <paramref name="buffer"/>, without an intermediate copy.
    /// </summary>
    /// <param name="buffer">Where to put the bytes; must not be empty.</param>
    /// <param name="cancellationToken">Cancels the wait; the stream stays usable.</param>
    /// <returns>The number of bytes received, or 0 at the end of the stream.</returns>
    /// <exception cref="BrokenStreamException">The peer reset the connection.</exception>
    /// <exception cref="BusyStreamException">Another task is reading.</exception>
    /// <exception cref="ObjectDisposedException">The stream was closed.</exception>
    public ValueTask<int> ReceiveSomeAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("The buffer must hold at least one byte.", nameof(buffer));
        }

        EnterRead();
        if (cancellationToken.IsCancellationRequested)
        {
            ExitRead();
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        if (Interlocked.Read(ref _buffered) > 0)
        {
            return ReceiveBufferedAsync(buffer, cancellationToken);
        }

        ValueTask<int> pending;
        try
        {
            pending = _stream.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            throw ExitReadWith(ex);
        }

        if (pending.IsCompletedSuccessfully)
        {
            int count;
            try
            {
                // The socket engine's completion can still turn into an abort between the status check and the result when a close races.
                count = pending.Result;
            }
            catch (Exception ex) when (IsTransportError(ex))
            {
                return ValueTask.FromException<int>(ExitReadWith(ex));
            }

            if (count == 0 && ClosedLocally)
            {
                return ValueTask.FromException<int>(ExitReadWith(ClosedDuring("read")));
            }

            Interlocked.Add(ref _bytesReceived, count);
            ExitRead();
            return new ValueTask<int>(count);
        }

        return AwaitReceiveAsync(pending);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (asyncio's <c>readexactly</c>).</summary>
    /// <param name="count">How many bytes; 0 returns an empty array at once.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="IncompleteReadException">The stream ended first; it says how many bytes did arrive.</exception>
    public async ValueTask<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var bytes = count == 0 ? [] : new byte[count];
        await ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    /// <summary>Fills <paramref name="buffer"/> completely.</summary>
    /// <param name="buffer">Where to put the bytes; an empty buffer returns at once.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the buffer is full.</returns>
    /// <exception cref="IncompleteReadException">The stream ended first; it says how many bytes did arrive.</exception>
    public async ValueTask ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (buffer.IsEmpty)
        {
            return;
        }

        var filled = 0;
        var guard = _transport.Guard;
        try
        {
            while (filled < buffer.Length)
            {
                var n = await ReceiveSomeAsync(buffer[filled..], cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IncompleteReadException(filled, buffer.Length, "an exact read");
                }

                filled += n;
                if (filled < buffer.Length)
                {
                    // The rest of a started read: the server's minimum data rate applies to it.
                    guard?.EnterRecord();
                }
            }
        }
        finally
        {
            guard?.LeaveRecord();
        }
    }

    /// <summary>
    /// Reads the stream as a sequence of chunks, as they arrive, until the peer's end of stream. Each chunk is valid only until the next
    /// item is requested (it is the pipe's own buffer, not a copy); copy it to keep it.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for the next chunk.</param>
    /// <returns>The chunks.</returns>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return ReadChunksCoreAsync(cancellationToken);
    }

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
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
                foreach (var segment in buffer)
                {
                    if (segment.IsEmpty)
                    {
                        continue;
                    }

                    Interlocked.Add(ref _bytesReceived, segment.Length);
                    consumed = buffer.GetPosition(segment.Length, consumed);
                    yield return segment;
                }

                holding = false;
                Release(buffer, buffer.End, buffer.End);
                if (result.IsCompleted)
                {
                    yield break;
                }
            }
        }
        finally
        {
            if (holding)
            {
                Release(buffer, consumed, consumed);
            }

            ExitRead();
        }
    }

    private async ValueTask<int> ReceiveBufferedAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            var result = await ReadBufferAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var count = (int)Math.Min(buffer.Length, destination.Length);
            var slice = buffer.Slice(0, count);
            slice.CopyTo(destination.Span);
            Release(buffer, slice.End, slice.End);
            Interlocked.Add(ref _bytesReceived, count);
            return count;
        }
        finally
        {
            ExitRead();
        }
    }

    private async ValueTask<int> AwaitReceiveAsync(ValueTask<int> pending)
    {
        int count;
        try
        {
            count = await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            throw ExitReadWith(ex);
        }

        // Closing the socket under a pending read can end that read with 0 bytes (the transport's own end of stream, seen 1 time in 9 on
        // the thread-pool transport) instead of an abort: it is our close, not the peer's end of stream.
        if (count == 0 && ClosedLocally)
        {
            throw ExitReadWith(ClosedDuring("read"));
        }

        Interlocked.Add(ref _bytesReceived, count);
        ExitRead();
        return count;
    }

    private async ValueTask<ReadResult> ReadBufferAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _readFault) is { } fault)
        {
            throw new BrokenStreamException("An earlier error left the stream unusable for reading.", fault);
        }

        try
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCompleted && ClosedLocally)
            {
                // Our own close ended the pending read as an end of stream (see AwaitReceiveAsync): report the close. Whatever is
                // buffered stays unread: a partial line or frame must not be handed out as the last record of a clean end.
                throw ClosedDuring("read");
            }

            Interlocked.Exchange(ref _buffered, result.Buffer.Length);
            if (_transport.Guard is { } guard && result.Buffer.Length > guard.MaxBufferedBytes && !result.IsCompleted)
            {
                // A handler's own line or frame limit may be larger than what the server lets one connection hold.
                var limit = guard.Trip(ConnectionLimit.MaxBufferedBytes,
                    $"The reader needed more than {guard.MaxBufferedBytes} bytes buffered (MaxBufferedBytesPerConnection).", close: false);
                _reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                MarkReadFault(limit);
                throw limit;
            }

            return result;
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            var translated = Translate(ex, "read");
            if (translated is BrokenStreamException)
            {
                Volatile.Write(ref _readFault, translated);
            }

            if (ReferenceEquals(translated, ex))
            {
                throw;
            }

            throw translated;
        }
    }

    private void Release(in ReadOnlySequence<byte> buffer, SequencePosition consumed, SequencePosition examined)
    {
        try
        {
            _reader.AdvanceTo(consumed, examined);
            Interlocked.Exchange(ref _buffered, buffer.Slice(consumed).Length);
        }
        catch (InvalidOperationException) when (IsDisposed)
        {
            // Closed underneath us: nothing left to release.
        }
    }

    private void EnterRead()
    {
        ThrowIfDisposed();
        if (Interlocked.CompareExchange(ref _readBusy, 1, 0) != 0)
        {
            // A close that ran since the check above holds the read side for good: that is a closed stream, not a busy one.
            ThrowIfDisposed();
            throw new BusyStreamException("Another task is already reading from this stream (or a Read*Async enumeration is still open).");
        }

        if (IsDisposed)
        {
            ExitRead();
            ThrowIfDisposed();
        }

        if (Volatile.Read(ref _readFault) is { } fault)
        {
            ExitRead();
            throw new BrokenStreamException("An earlier error left the stream unusable for reading.", fault);
        }
    }

    private void ExitRead()
    {
        Volatile.Write(ref _readBusy, 0);
        if (IsDisposed && Interlocked.CompareExchange(ref _readBusy, 1, 0) == 0)
        {
            CompleteReader();
        }
    }

    private Exception ExitReadWith(Exception error)
    {
        var translated = Translate(error, "read");
        if (translated is BrokenStreamException)
        {
            Volatile.Write(ref _readFault, translated);
        }

        ExitRead();
        return translated;
    }

    private void MarkReadFault(Exception error) => Volatile.Write(ref _readFault, error);
}
