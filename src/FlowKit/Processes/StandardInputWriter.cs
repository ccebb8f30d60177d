using System.Text;

namespace FlowKit.Processes;

/// <summary>
/// The writing end of a child's standard input. Writes are buffered up to <see cref="SubprocessOptions.InputBufferSize"/>
/// bytes; <see cref="FlushAsync"/> sends them, and <see cref="CloseAsync"/> flushes and closes the pipe so the child reads end
/// of file. Writing after the child closed its end throws <see cref="SubprocessInputClosedException"/> (never hangs).
/// One writer at a time: calls must not overlap.
/// </summary>
public sealed class StandardInputWriter
{
    private readonly Stream? _stream;
    private readonly Subprocess _owner;
    private readonly Encoding _encoding;
    private readonly byte[] _buffer;
    private int _count;
    private long _written;
    private int _closed;

    internal StandardInputWriter(Stream? stream, Subprocess owner, Encoding encoding, int bufferSize)
    {
        _stream = stream;
        _owner = owner;
        _encoding = encoding;
        _buffer = stream is null ? [] : new byte[bufferSize];
        if (stream is null)
        {
            _closed = 1;
        }
    }

    /// <summary>Whether the pipe has been closed (by <see cref="CloseAsync"/>, by disposal, or because it was never a pipe).</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Bytes handed to the OS pipe so far.</summary>
    public long BytesWritten => Interlocked.Read(ref _written);

    /// <summary>Writes <paramref name="data"/> (buffered).</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="cancellationToken">Cancels a write that waits for the child to read.</param>
    /// <returns>A task that completes when the bytes are buffered or written.</returns>
    /// <exception cref="SubprocessInputClosedException">The child closed its standard input or exited.</exception>
    /// <exception cref="InvalidOperationException">Standard input is closed or is not a pipe.</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var stream = ThrowIfClosed();
        if (_count + data.Length <= _buffer.Length)
        {
            data.Span.CopyTo(_buffer.AsSpan(_count));
            _count += data.Length;
            return;
        }

        await FlushCoreAsync(stream, cancellationToken).ConfigureAwait(false);
        if (data.Length < _buffer.Length)
        {
            data.Span.CopyTo(_buffer);
            _count = data.Length;
            return;
        }

        await SendAsync(stream, data, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="text"/> in the handle's encoding (buffered).</summary>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Cancels a write that waits for the child to read.</param>
    /// <returns>A task that completes when the text is buffered or written.</returns>
    /// <exception cref="SubprocessInputClosedException">The child closed its standard input or exited.</exception>
    public ValueTask WriteAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var stream = ThrowIfClosed();
        var max = _encoding.GetMaxByteCount(text.Length);
        if (_count + max <= _buffer.Length)
        {
            _count += _encoding.GetBytes(text, _buffer.AsSpan(_count));
            return ValueTask.CompletedTask;
        }

        return WriteAsync(_encoding.GetBytes(text), cancellationToken);
    }

    /// <summary>Writes <paramref name="line"/> and a <c>\n</c> (buffered).</summary>
    /// <param name="line">The line, without its terminator.</param>
    /// <param name="cancellationToken">Cancels a write that waits for the child to read.</param>
    /// <returns>A task that completes when the line is buffered or written.</returns>
    /// <exception cref="SubprocessInputClosedException">The child closed its standard input or exited.</exception>
    public async ValueTask WriteLineAsync(string line, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(line);
        var stream = ThrowIfClosed();
        var max = _encoding.GetMaxByteCount(line.Length) + 1;
        if (_count + max > _buffer.Length)
        {
            await FlushCoreAsync(stream, cancellationToken).ConfigureAwait(false);
        }

        if (max <= _buffer.Length)
        {
            _count += _encoding.GetBytes(line, _buffer.AsSpan(_count));
            _buffer[_count++] = (byte)'\n';
            return;
        }

        await SendAsync(stream, _encoding.GetBytes(line + "\n"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the buffered bytes to the child.</summary>
    /// <param name="cancellationToken">Cancels a flush that waits for the child to read.</param>
    /// <returns>A task that completes when the bytes are in the OS pipe.</returns>
    /// <exception cref="SubprocessInputClosedException">The child closed its standard input or exited.</exception>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => FlushCoreAsync(ThrowIfClosed(), cancellationToken);

    /// <summary>Flushes and closes standard input, so the child reads end of file. Closing twice does nothing.</summary>
    /// <param name="cancellationToken">Cancels the final flush (the pipe is closed anyway).</param>
    /// <returns>A task that completes when the pipe is closed.</returns>
    /// <exception cref="SubprocessInputClosedException">The final flush failed because the child had closed its end.</exception>
    public async ValueTask CloseAsync(CancellationToken cancellationToken = default)
    {
        if (_stream is null || Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            await FlushCoreAsync(_stream, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await DisposeStreamAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Closes without flushing and without throwing: used when the handle is disposed.</summary>
    internal async ValueTask AbandonAsync()
    {
        if (_stream is null || Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _count = 0;
        await DisposeStreamAsync().ConfigureAwait(false);
    }

    /// <summary>Closes a pipe nothing was written to yet (for <see cref="SubprocessInput.Closed"/>).</summary>
    internal void CloseNow()
    {
        if (_stream is not null && Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _stream.Dispose();
        }
    }

    private async ValueTask DisposeStreamAsync()
    {
        try
        {
            await _stream!.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Closing a pipe whose reader is gone can report EPIPE for bytes the stream still held; nothing is left to deliver.
        }
    }

    private async ValueTask FlushCoreAsync(Stream stream, CancellationToken cancellationToken)
    {
        if (_count == 0)
        {
            return;
        }

        var count = _count;
        _count = 0;
        await SendAsync(stream, _buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask SendAsync(Stream stream, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _written, data.Length);
        }
        catch (IOException ex)
        {
            throw new SubprocessInputClosedException(
                $"Cannot write to the standard input of '{_owner.FileName}' (pid {_owner.Id}): the child closed it{_owner.DescribeExit()} (broken pipe).", ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new InvalidOperationException($"The standard input of '{_owner.FileName}' (pid {_owner.Id}) is closed.", ex);
        }
    }

    private Stream ThrowIfClosed() =>
        Volatile.Read(ref _closed) != 0 || _stream is null
            ? throw new InvalidOperationException(_stream is null
                ? $"The standard input of '{_owner.FileName}' is not a pipe; set SubprocessOptions.StandardInput to SubprocessInput.Pipe to write to it."
                : $"The standard input of '{_owner.FileName}' (pid {_owner.Id}) is closed.")
            : _stream;
}
