using FlowKit.Internal;
using System.Diagnostics;

namespace FlowKit;

/// <summary>
/// Trio's <c>CapacityLimiter</c>: at most <see cref="TotalTokens"/> holders at a time, each borrowing one token and giving it back
/// when done; waiters are served first come first served. Built on <see cref="SemaphoreSlim"/> (asyncio's <c>Semaphore</c>), adding
/// the <c>await using</c> shape and Trio's statistics.
/// </summary>
/// <example>
/// <code>
/// var limiter = new CapacityLimiter(4);
/// await using (await limiter.AcquireAsync(cancellationToken))
/// {
///     await DownloadAsync(url, cancellationToken);   // at most 4 at a time
/// }
/// </code>
/// </example>
[DebuggerDisplay("Borrowed = {BorrowedTokens}/{TotalTokens}")]
public sealed class CapacityLimiter
{
    private readonly SemaphoreSlim _tokens;
    private int _waiting;

    /// <summary>Creates a limiter.</summary>
    /// <param name="totalTokens">How many holders may hold a token at once; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="totalTokens"/> is zero or negative.</exception>
    public CapacityLimiter(int totalTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalTokens);
        TotalTokens = totalTokens;
        _tokens = new SemaphoreSlim(totalTokens, totalTokens);
    }

    /// <summary>The number of tokens.</summary>
    public int TotalTokens { get; }

    /// <summary>Tokens lent out now.</summary>
    public int BorrowedTokens => TotalTokens - _tokens.CurrentCount;

    /// <summary>Tokens free now.</summary>
    public int AvailableTokens => _tokens.CurrentCount;

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

        return _tokens.Wait(0) ? new ValueTask<IAsyncDisposable>(new SemaphoreReleaser(_tokens)) : AcquireSlowAsync(cancellationToken);
    }

    /// <summary>Borrows a token if one is free now (Trio's <c>acquire_nowait</c>).</summary>
    /// <param name="releaser">Disposing it gives the token back, when the result is true.</param>
    /// <returns>True if a token was borrowed.</returns>
    public bool TryAcquire([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IAsyncDisposable? releaser)
    {
        releaser = _tokens.Wait(0) ? new SemaphoreReleaser(_tokens) : null;
        return releaser is not null;
    }

    /// <summary>A snapshot of the limiter.</summary>
    /// <returns>Borrowed and total tokens and how many tasks wait.</returns>
    public CapacityLimiterStatistics GetStatistics() => new(BorrowedTokens, TotalTokens, Volatile.Read(ref _waiting));

    private async ValueTask<IAsyncDisposable> AcquireSlowAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _tokens.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return new SemaphoreReleaser(_tokens);
    }
}
