using FlowKit.Internal;
using System.Diagnostics;

namespace FlowKit;

/// <summary>
/// asyncio's and Trio's <c>Lock</c>: mutual exclusion across awaits, first come first served, not reentrant (acquiring it again
/// from inside the lock waits forever, as in asyncio). Built on <see cref="SemaphoreSlim"/> with one slot, whose async waiters
/// are FIFO and cancellation-safe; this type adds the <c>await using</c> shape and statistics.
/// </summary>
/// <example>
/// <code>
/// var gate = new AsyncLock();
/// await using (await gate.AcquireAsync(cancellationToken))
/// {
///     await UpdateSharedStateAsync();
/// }
/// </code>
/// </example>
[DebuggerDisplay("Locked = {IsLocked}")]
public sealed class AsyncLock
{
    private readonly SemaphoreSlim _slot = new(1, 1);
    private int _waiting;

    /// <summary>True while someone holds the lock.</summary>
    public bool IsLocked => _slot.CurrentCount == 0;

    /// <summary>Acquires the lock, waiting while someone else holds it.</summary>
    /// <param name="cancellationToken">Cancels the wait; the lock is then not held.</param>
    /// <returns>A releaser: disposing it releases the lock (once; later disposals do nothing).</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the lock was acquired.</exception>
    public ValueTask<IAsyncDisposable> AcquireAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<IAsyncDisposable>(cancellationToken);
        }

        return _slot.Wait(0) ? new ValueTask<IAsyncDisposable>(new SemaphoreReleaser(_slot)) : AcquireSlowAsync(cancellationToken);
    }

    /// <summary>Acquires the lock if it is free now.</summary>
    /// <param name="releaser">Disposing it releases the lock, when the result is true.</param>
    /// <returns>True if the lock was acquired.</returns>
    public bool TryAcquire([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IAsyncDisposable? releaser)
    {
        releaser = _slot.Wait(0) ? new SemaphoreReleaser(_slot) : null;
        return releaser is not null;
    }

    /// <summary>A snapshot of the lock.</summary>
    /// <returns>Whether it is held and how many tasks wait (including <see cref="AsyncCondition"/> waiters that were notified or
    /// cancelled and wait to hold the lock again).</returns>
    public AsyncLockStatistics GetStatistics() => new(IsLocked, Volatile.Read(ref _waiting));

    /// <summary>Releases the lock on behalf of <see cref="AsyncCondition"/>, which re-acquires it before returning.</summary>
    internal void ReleaseForCondition() => _slot.Release();

    /// <summary>
    /// Counts a condition waiter that was just notified as waiting for the lock (Trio moves it to the lock's queue at the
    /// notification), before it runs again; <see cref="ReacquireForConditionAsync"/> with <c>counted: true</c> ends the count.
    /// </summary>
    internal void CountConditionWaiter() => Interlocked.Increment(ref _waiting);

    /// <summary>Re-acquires the lock for <see cref="AsyncCondition"/>; not cancellable, like asyncio's condition. Counted in
    /// <see cref="AsyncLockStatistics.TasksWaiting"/> until it holds the lock.</summary>
    /// <param name="counted">True when <see cref="CountConditionWaiter"/> already counted this waiter.</param>
    internal async Task ReacquireForConditionAsync(bool counted)
    {
        if (!counted)
        {
            Interlocked.Increment(ref _waiting);
        }

        try
        {
            await _slot.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private async ValueTask<IAsyncDisposable> AcquireSlowAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _slot.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return new SemaphoreReleaser(_slot);
    }
}
