using System.Buffers;
using System.Text;

namespace FlowKit.Net;

/// <content>Writes: <see cref="SendAllAsync"/>, <see cref="WriteLineAsync"/>, <see cref="WriteFrameAsync"/> and <see cref="SendEofAsync"/>.</content>
public sealed partial class SocketStream
{
    // Frames up to this size go out as one write (header and payload copied together); larger ones as two, without copying the payload.
    private const int CoalesceLimit = 16 * 1024;

    /// <summary>
    /// Sends every byte of <paramref name="data"/> (Trio's <c>send_all</c>), waiting while the peer's window is full. Returns once the
    /// transport has taken the bytes, not when the peer has read them.
    /// </summary>
    /// <param name="data">The bytes; empty data only checks that the stream is open.</param>
    /// <param name="cancellationToken">Cancels the wait; a cancelled send may have sent part of the data, so the stream should then be closed.</param>
    /// <returns>A task that completes when all bytes are sent.</returns>
    /// <exception cref="BrokenStreamException">The peer reset or closed the connection.</exception>
    /// <exception cref="BusyStreamException">Another task is writing.</exception>
    /// <exception cref="ObjectDisposedException">The stream was closed.</exception>
    /// <exception cref="InvalidOperationException"><see cref="SendEofAsync"/> was already called.</exception>
    public ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        EnterWrite();
        if (data.IsEmpty)
        {
            ExitWrite();
            return ValueTask.CompletedTask;
        }

        ValueTask pending;
        try
        {
            pending = _stream.WriteAsync(data, cancellationToken);
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            ExitWrite();
            throw Translate(ex, "write");
        }

        if (pending.IsCompletedSuccessfully)
        {
            pending.GetAwaiter().GetResult();
            Interlocked.Add(ref _bytesSent, data.Length);
            ExitWrite();
            return ValueTask.CompletedTask;
        }

        return AwaitSendAsync(pending, data.Length);
    }

    /// <summary>Sends <paramref name="line"/> in UTF-8 followed by <c>\n</c>.</summary>
    /// <param name="line">The text; it should not contain <c>\n</c> itself.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the line is sent.</returns>
    /// <exception cref="BrokenStreamException">The peer reset or closed the connection.</exception>
    public async ValueTask WriteLineAsync(string line, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(line);
        var length = Encoding.UTF8.GetByteCount(line) + 1;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = Encoding.UTF8.GetBytes(line, rented);
            rented[written] = (byte)'\n';
            await SendAllAsync(rented.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Sends one frame: the payload's length as a 4-byte big-endian integer, then the payload.</summary>
    /// <param name="payload">The frame's bytes.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the frame is sent.</returns>
    /// <exception cref="BrokenStreamException">The peer reset or closed the connection.</exception>
    public async ValueTask WriteFrameAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        EnterWrite();
        var rented = ArrayPool<byte>.Shared.Rent(Math.Min(payload.Length, CoalesceLimit) + FrameDecoder.HeaderSize);
        try
        {
            FrameDecoder.WriteHeader(rented, payload.Length);
            if (payload.Length <= CoalesceLimit)
            {
                payload.CopyTo(rented.AsMemory(FrameDecoder.HeaderSize));
                await WriteCoreAsync(rented.AsMemory(0, payload.Length + FrameDecoder.HeaderSize), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await WriteCoreAsync(rented.AsMemory(0, FrameDecoder.HeaderSize), cancellationToken).ConfigureAwait(false);
                await WriteCoreAsync(payload, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
            ExitWrite();
        }
    }

    /// <summary>
    /// Closes the sending side (Trio's <c>send_eof</c>, a TCP half-close): the peer reads the end of stream, and this side can go on
    /// reading. Calling it twice is fine.
    /// </summary>
    /// <param name="cancellationToken">Checked on entry; sending the end of stream itself does not wait on the peer.</param>
    /// <returns>A task that completes when the end of stream is sent.</returns>
    /// <exception cref="BusyStreamException">A write is in progress.</exception>
    public async ValueTask SendEofAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (Volatile.Read(ref _eofSent) != 0)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _writeBusy, 1, 0) != 0)
        {
            throw new BusyStreamException("A write is in progress; the end of stream can be sent once it has finished.");
        }

        try
        {
            if (Interlocked.Exchange(ref _eofSent, 1) == 0)
            {
                await _transport.SendEofAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            throw Translate(ex, "half-close");
        }
        finally
        {
            Volatile.Write(ref _writeBusy, 0);
        }
    }

    private async ValueTask WriteCoreAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            var translated = Translate(ex, "write");
            if (ReferenceEquals(translated, ex))
            {
                throw;
            }

            throw translated;
        }

        Interlocked.Add(ref _bytesSent, data.Length);
    }

    private async ValueTask AwaitSendAsync(ValueTask pending, int length)
    {
        try
        {
            await pending.ConfigureAwait(false);
            Interlocked.Add(ref _bytesSent, length);
        }
        catch (Exception ex) when (IsTransportError(ex))
        {
            var translated = Translate(ex, "write");
            if (ReferenceEquals(translated, ex))
            {
                throw;
            }

            throw translated;
        }
        finally
        {
            ExitWrite();
        }
    }

    private void EnterWrite()
    {
        ThrowIfDisposed();
        if (Volatile.Read(ref _eofSent) != 0)
        {
            throw new InvalidOperationException("The sending side was closed by SendEofAsync; nothing more can be sent.");
        }

        if (Interlocked.CompareExchange(ref _writeBusy, 1, 0) != 0)
        {
            throw new BusyStreamException("Another task is already writing to this stream.");
        }
    }

    private void ExitWrite() => Volatile.Write(ref _writeBusy, 0);
}
