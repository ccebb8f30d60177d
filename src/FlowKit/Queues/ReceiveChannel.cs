using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace FlowKit;

/// <summary>
/// The receive side of a memory channel (Trio's <c>MemoryReceiveChannel</c>), from <see cref="MemoryChannel.Open{T}(int)"/>.
/// Enumerate it with <c>await foreach</c> (the loop ends when every send clone is disposed and the buffer is drained) or call
/// <see cref="ReceiveAsync"/>. Clone it for each consumer; several consumers share the items, each item going to one of them.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
[DebuggerDisplay("Disposed = {_lifetime.IsDisposed}")]
public sealed class ReceiveChannel<T> : IAsyncEnumerable<T>, IDisposable, IAsyncDisposable
{
    private readonly MemoryChannelState<T> _state;
    private readonly ChannelCloneLifetime _lifetime = new();

    internal ReceiveChannel(MemoryChannelState<T> state) => _state = state;

    /// <summary>Receives the next item, waiting while the buffer is empty.</summary>
    /// <param name="cancellationToken">Cancels the wait; no item is taken then.</param>
    /// <returns>The item.</returns>
    /// <exception cref="EndOfChannelException">Every send clone has been disposed and the buffer is drained.</exception>
    /// <exception cref="ObjectDisposedException">This clone has been disposed (also while this receive waited).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before an item was taken.</exception>
    public ValueTask<T> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_lifetime.IsDisposed, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<T>(cancellationToken);
        }

        // An item available now means nobody waits to receive, so taking it overtakes nobody.
        return _state.Core.TryGet(out var item) ? new ValueTask<T>(item) : ReceiveSlowAsync(cancellationToken);
    }

    /// <summary>Receives an item if one is available now (Trio's <c>receive_nowait</c>).</summary>
    /// <param name="item">The item, when the result is true.</param>
    /// <returns>True if an item was taken; false if none is available now (use <see cref="ReceiveAsync"/> to learn of the end).</returns>
    /// <exception cref="ObjectDisposedException">This clone has been disposed.</exception>
    public bool TryReceive([MaybeNullWhen(false)] out T item)
    {
        ObjectDisposedException.ThrowIf(_lifetime.IsDisposed, this);
        return _state.Core.TryGet(out item);
    }

    /// <summary>Creates another receive side for the same channel; sends fail only when every clone is disposed.</summary>
    /// <returns>The new clone.</returns>
    /// <exception cref="ObjectDisposedException">This clone has been disposed.</exception>
    public ReceiveChannel<T> Clone()
    {
        ObjectDisposedException.ThrowIf(_lifetime.IsDisposed, this);
        _state.AddReceiver();
        return new ReceiveChannel<T>(_state);
    }

    /// <summary>A snapshot of the channel's counters.</summary>
    /// <returns>Buffer use, open clones, blocked senders and receivers.</returns>
    public MemoryChannelStatistics GetStatistics() => _state.GetStatistics();

    /// <summary>Receives items until the channel ends (every send clone disposed and the buffer drained).</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The items, in the order the channel hands them out.</returns>
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) => new Enumerator(this, cancellationToken);

    /// <summary>Closes this clone: receives blocked on it fail with <see cref="ObjectDisposedException"/>; when it is the last open
    /// receive clone, buffered items are dropped and senders get <see cref="BrokenChannelException"/>. Idempotent.</summary>
    public void Dispose()
    {
        if (_lifetime.TryDispose())
        {
            _state.ReleaseReceiver();
        }
    }

    /// <summary>Same as <see cref="Dispose"/>, for <c>await using</c>.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }

    private async ValueTask<T> ReceiveSlowAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.ClosingToken);
        try
        {
            return await _state.Core.GetAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException error) when (error.CancellationToken == linked.Token)
        {
            throw _lifetime.TranslateCancellation(error, cancellationToken, this);
        }
    }

    /// <summary>A hand-written enumerator: a buffered item costs one call and no state machine; only a wait goes async.</summary>
    private sealed class Enumerator(ReceiveChannel<T> owner, CancellationToken cancellationToken) : IAsyncEnumerator<T>
    {
        public T Current { get; private set; } = default!;

        public ValueTask<bool> MoveNextAsync()
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<bool>(cancellationToken);
            }

            ObjectDisposedException.ThrowIf(owner._lifetime.IsDisposed, owner);
            if (owner._state.Core.TryGet(out var item))
            {
                Current = item;
                return new ValueTask<bool>(true);
            }

            return AwaitReceiveAsync(owner.ReceiveSlowAsync(cancellationToken));
        }

        public ValueTask DisposeAsync() => default;

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> AwaitReceiveAsync(ValueTask<T> receive)
        {
            try
            {
                Current = await receive.ConfigureAwait(false);
                return true;
            }
            catch (EndOfChannelException)
            {
                return false;
            }
        }
    }
}
