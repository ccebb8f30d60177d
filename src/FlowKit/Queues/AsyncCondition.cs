using System.Diagnostics;

namespace FlowKit;

/// <summary>
/// asyncio's <c>Condition</c>: tasks holding <see cref="Lock"/> wait for a notification with <see cref="WaitAsync"/>, which releases
/// the lock while waiting and holds it again when it returns (also when it is cancelled, as in asyncio). Notifications wake waiters in
/// the order they started waiting; a waiter cancelled at the moment it was notified passes the notification on, so none is lost.
/// From the notification until it holds the lock again, a woken waiter is counted in the lock's
/// <see cref="AsyncLockStatistics.TasksWaiting"/> (as in Trio, where <c>notify</c> moves it to the lock's queue).
/// </summary>
/// <example>
/// <code>
/// var ready = new AsyncCondition();
/// await using (await ready.AcquireAsync(ct))
/// {
///     await ready.WaitForAsync(() => items.Count > 0, ct);
///     Consume(items);
/// }
/// </code>
/// </example>
[DebuggerDisplay("Waiting = {_waiters.Count}")]
public sealed class AsyncCondition
{
    private readonly LinkedList<TaskCompletionSource> _waiters = new();

    /// <summary>Creates a condition bound to a lock.</summary>
    /// <param name="lock">The lock to use; null creates a new one.</param>
    public AsyncCondition(AsyncLock? @lock = null) => Lock = @lock ?? new AsyncLock();

    /// <summary>The lock that callers of <see cref="WaitAsync"/>, <see cref="Notify"/> and <see cref="NotifyAll"/> must hold.</summary>
    public AsyncLock Lock { get; }

    /// <summary>Acquires <see cref="Lock"/>.</summary>
    /// <param name="cancellationToken">Cancels the wait for the lock.</param>
    /// <returns>A releaser: disposing it releases the lock.</returns>
    public ValueTask<IAsyncDisposable> AcquireAsync(CancellationToken cancellationToken = default) => Lock.AcquireAsync(cancellationToken);

    /// <summary>Releases the lock, waits for <see cref="Notify"/> or <see cref="NotifyAll"/>, then re-acquires the lock.</summary>
    /// <param name="cancellationToken">Cancels the wait; the lock is held again before the cancellation is thrown.</param>
    /// <returns>A task that completes, with the lock held, after a notification.</returns>
    /// <exception cref="InvalidOperationException">The lock is not held.</exception>
    public async Task WaitAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotLocked();
        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        LinkedListNode<TaskCompletionSource> node;
        lock (_waiters)
        {
            node = _waiters.AddLast(waiter);
        }

        Lock.ReleaseForCondition();
        OperationCanceledException? cancelled = null;

        // A notified waiter was counted as waiting for the lock by Wake, synchronously with the notification.
        var counted = true;
        try
        {
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            cancelled = ex;
            bool stillWaiting;
            lock (_waiters)
            {
                stillWaiting = node.List is not null;
                if (stillWaiting)
                {
                    _waiters.Remove(node);
                }
            }

            if (stillWaiting)
            {
                counted = false;
            }
            else
            {
                // Notified and cancelled at once: hand the notification to the next waiter.
                Wake(1);
            }
        }

        await Lock.ReacquireForConditionAsync(counted).ConfigureAwait(false);
        if (cancelled is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cancelled);
        }
    }

    /// <summary>Waits until <paramref name="predicate"/> is true, checking it under the lock after each notification.</summary>
    /// <param name="predicate">The condition; called with the lock held.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes, with the lock held, once the predicate is true.</returns>
    public async Task WaitForAsync(Func<bool> predicate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        while (!predicate())
        {
            await WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters, longest waiting first.</summary>
    /// <param name="count">How many waiters to wake; at least 1.</param>
    /// <exception cref="InvalidOperationException">The lock is not held.</exception>
    public void Notify(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ThrowIfNotLocked();
        Wake(count);
    }

    /// <summary>Wakes every waiter.</summary>
    /// <exception cref="InvalidOperationException">The lock is not held.</exception>
    public void NotifyAll()
    {
        ThrowIfNotLocked();
        Wake(int.MaxValue);
    }

    /// <summary>A snapshot of the condition.</summary>
    /// <returns>How many tasks wait for a notification, and the lock's state.</returns>
    public AsyncConditionStatistics GetStatistics()
    {
        int waiting;
        lock (_waiters)
        {
            waiting = _waiters.Count;
        }

        return new(waiting, Lock.GetStatistics());
    }

    private void Wake(int count)
    {
        lock (_waiters)
        {
            while (count-- > 0 && _waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                Lock.CountConditionWaiter();
                first.Value.TrySetResult();
            }
        }
    }

    private void ThrowIfNotLocked()
    {
        if (!Lock.IsLocked)
        {
            throw new InvalidOperationException("The condition's lock must be held: acquire it with AcquireAsync first.");
        }
    }
}
