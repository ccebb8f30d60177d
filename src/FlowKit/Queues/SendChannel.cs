using System.Diagnostics;

namespace FlowKit;

/// <summary>
/// The send side of a memory channel (Trio's <c>MemorySendChannel</c>), from <see cref="MemoryChannel.Open{T}(int)"/>. Clone it for
/// each producer and dispose every clone when done: the receivers see the end of the channel once the last clone is disposed.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
[DebuggerDisplay("Disposed = {_lifetime.IsDisposed}")]
public sealed class SendChannel<T> : IDisposable, IAsyncDisposable
{
    private readonly MemoryChannelState<T> _state;
    private readonly ChannelCloneLifetime _lifetime = new();

    internal SendChannel(MemoryChannelState<T> state) => _state = state;

    /// <summary>Sends an item, waiting while the buffer is full (at capacity 0, until a receiver has taken it).</summary>
    /// <param name="item">The item.</param>
    /// <param name="cancellationToken">Cancels the wait; the item is then not in the channel.</param>
    /// <returns>A task that completes when the item is in the buffer or with a receiver.</returns>
    /// <exception cref="BrokenChannelException">Every receive clone has been disposed.</exception>
    /// <exception cref="ObjectDisposedException">This clone has been disposed (also while this send waited).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the item went in.</exception>
    public ValueTask SendAsync(T item, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_lifetime.IsDisposed, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        bool sent;
        try
        {
            // Succeeds only when nobody waits to send (a full buffer or no waiting receiver makes it fail), so it overtakes nobody.
            sent = _state.Core.TryPut(item);
        }
        catch (Exception error)
        {
            return ValueTask.FromException(error);
        }

        return sent ? default : SendSlowAsync(item, cancellationToken);
    }

    /// <summary>Sends an item if that needs no wait (Trio's <c>send_nowait</c>).</summary>
    /// <param name="item">The item.</param>
    /// <returns>True if the item went in; false if the buffer is full (or, at capacity 0, no receiver is waiting).</returns>
    /// <exception cref="BrokenChannelException">Every receive clone has been disposed.</exception>
    /// <exception cref="ObjectDisposedException">This clone has been disposed.</exception>
    public bool TrySend(T item)
    {
        ObjectDisposedException.ThrowIf(_lifetime.IsDisposed, this);
        return _state.Core.TryPut(item);
    }

    /// <summary>Creates another send side for the same channel; the channel ends only when every clone is disposed.</summary>
    /// <returns>The new clone.</returns>
    /// <exception cref="ObjectDisposedException">This clone has been disposed.</exception>
    public SendChannel<T> Clone()
    {
        ObjectDisposedException.ThrowIf(_lifetime.IsDisposed, this);
        _state.AddSender();
        return new SendChannel<T>(_state);
    }

    /// <summary>A snapshot of the channel's counters.</summary>
    /// <returns>Buffer use, open clones, blocked senders and receivers.</returns>
    public MemoryChannelStatistics GetStatistics() => _state.GetStatistics();

    /// <summary>Closes this clone: sends blocked on it fail with <see cref="ObjectDisposedException"/>; when it is the last open send
    /// clone, receivers drain the buffer and then see the end. Idempotent.</summary>
    public void Dispose()
    {
        if (_lifetime.TryDispose())
        {
            _state.ReleaseSender();
        }
    }

    /// <summary>Same as <see cref="Dispose"/>, for <c>await using</c>.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }

    private async ValueTask SendSlowAsync(T item, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.ClosingToken);
        try
        {
            await _state.Core.PutAsync(item, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException error) when (error.CancellationToken == linked.Token)
        {
            throw _lifetime.TranslateCancellation(error, cancellationToken, this);
        }
    }
}
