using System.Diagnostics;

namespace FlowKit;

/// <summary>
/// Trio's <c>CapacityLimiter</c>: at most <see cref="TotalTokens"/> holders at a time, each borrowing one token and giving it back
/// when done; waiters are served first come first served. <see cref="TotalTokens"/> can be changed at any time (0 included): growing
/// it lends the new tokens to waiters at once, lowering it takes nothing back (the holders keep their tokens, and new borrowers wait
/// until the borrowed count is below the new total).
/// </summary>
/// <example>
/// <code>
/// var limiter = new CapacityLimiter(4);
/// await using (await limiter.AcquireAsync(cancellationToken))
/// {
///     await DownloadAsync(url, cancellationToken);   // at most 4 at a time
/// }
/// limiter.TotalTokens = 8;                           // waiters get the 4 new tokens now
/// </code>
/// </example>
[DebuggerDisplay("Borrowed = {BorrowedTokens}/{TotalTokens}")]
public sealed class CapacityLimiter
{
    private readonly Lock _gate = new();
    private readonly LinkedList<TaskCompletionSource<IAsyncDisposable>> _waiters = new();
    private int _total;
    private int _borrowed;

    /// <summary>Creates a limiter.</summary>
    /// <param name="totalTokens">How many holders may hold a token at once; 0 lends nothing until <see cref="TotalTokens"/> grows.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="totalTokens"/> is negative.</exception>
    public CapacityLimiter(int totalTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(totalTokens);
        _total = totalTokens;
    }

    /// <summary>
    /// The number of tokens (Trio's settable <c>total_tokens</c>). Setting a larger value lends the new tokens to waiting borrowers
    /// at once, in the order they started waiting; a smaller value takes no token back.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value set is negative.</exception>
    public int TotalTokens
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }

        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "TotalTokens must be 0 or more.");
            }

            lock (_gate)
            {
                _total = value;
                WakeLocked();
            }
        }
    }

    /// <summary>Tokens lent out now (more than <see cref="TotalTokens"/> for a while after the total was lowered).</summary>
    public int BorrowedTokens
    {
        get
        {
            lock (_gate)
            {
                return _borrowed;
            }
        }
    }

    /// <summary>Tokens free now: <see cref="TotalTokens"/> minus <see cref="BorrowedTokens"/>, or 0 while more are borrowed than the total allows.</summary>
    public int AvailableTokens
    {
        get
        {
            lock (_gate)
            {
                return Math.Max(0, _total - _borrowed);
            }
        }
    }

    /// <summary>Borrows a token, waiting while none is free.</summary>
    /// <param name="cancellationToken">Cancels the wait; no token is borrowed then.</param>
    /// <returns>A releaser: disposing it gives the token back (once; later disposals do nothing).</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before a token was borrowed.</exception>
    public ValueTask<IAsyncDisposable> AcquireAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<IAsyncDisposable>(cancellationToken);
        }

        LinkedListNode<TaskCompletionSource<IAsyncDisposable>> node;
        lock (_gate)
        {
            if (TryBorrowLocked())
            {
                return new ValueTask<IAsyncDisposable>(new Releaser(this));
            }

            node = _waiters.AddLast(new TaskCompletionSource<IAsyncDisposable>(TaskCreationOptions.RunContinuationsAsynchronously));
        }

        return new ValueTask<IAsyncDisposable>(cancellationToken.CanBeCanceled ? WaitAsync(node, cancellationToken) : node.Value.Task);
    }

    /// <summary>Borrows a token if one is free now (Trio's <c>acquire_nowait</c>).</summary>
    /// <param name="releaser">Disposing it gives the token back, when the result is true.</param>
    /// <returns>True if a token was borrowed.</returns>
    public bool TryAcquire([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IAsyncDisposable? releaser)
    {
        lock (_gate)
        {
            releaser = TryBorrowLocked() ? new Releaser(this) : null;
        }

        return releaser is not null;
    }

    /// <summary>A snapshot of the limiter.</summary>
    /// <returns>Borrowed and total tokens and how many tasks wait.</returns>
    public CapacityLimiterStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new(_borrowed, _total, _waiters.Count);
        }
    }

    // Only when nobody waits: a newcomer never overtakes a waiter.
    private bool TryBorrowLocked()
    {
        if (_borrowed < _total && _waiters.Count == 0)
        {
            _borrowed++;
            return true;
        }

        return false;
    }

    private void Return()
    {
        lock (_gate)
        {
            _borrowed--;
            WakeLocked();
        }
    }

    // Lends free tokens to waiters, first come first served. A waiter leaves the list only here or in its cancellation (both under
    // the lock), so exactly one of "lent a token" and "cancelled" happens to it.
    private void WakeLocked()
    {
        while (_borrowed < _total && _waiters.First is { } first)
        {
            _waiters.RemoveFirst();
            _borrowed++;
            first.Value.SetResult(new Releaser(this));
        }
    }

    private async Task<IAsyncDisposable> WaitAsync(LinkedListNode<TaskCompletionSource<IAsyncDisposable>> node, CancellationToken cancellationToken)
    {
        using (cancellationToken.UnsafeRegister(static (state, token) => ((CapacityLimiter)((object[])state!)[0]).Cancel(
                   (LinkedListNode<TaskCompletionSource<IAsyncDisposable>>)((object[])state!)[1], token), new object[] { this, node }))
        {
            return await node.Value.Task.ConfigureAwait(false);
        }
    }

    private void Cancel(LinkedListNode<TaskCompletionSource<IAsyncDisposable>> node, CancellationToken token)
    {
        lock (_gate)
        {
            if (node.List is null)
            {
                return;   // already lent a token: the borrower holds it and gives it back by disposing the releaser
            }

            _waiters.Remove(node);
        }

        node.Value.SetCanceled(token);
    }

    private sealed class Releaser(CapacityLimiter owner) : IAsyncDisposable, IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Return();
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return default;
        }
    }
}
