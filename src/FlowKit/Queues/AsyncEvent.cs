using System.Diagnostics;

namespace FlowKit;

/// <summary>
/// asyncio's <c>Event</c> (Trio's <c>Event</c> plus <c>clear</c>): tasks wait until the flag is set. <see cref="Set"/> wakes every
/// waiter; <see cref="Clear"/> makes later waiters wait again. A cancelled wait leaves nothing behind.
/// </summary>
[DebuggerDisplay("IsSet = {IsSet}")]
public sealed class AsyncEvent
{
    private TaskCompletionSource _signal = NewSignal();
    private int _waiting;

    /// <summary>True while the flag is set.</summary>
    public bool IsSet => Volatile.Read(ref _signal).Task.IsCompleted;

    /// <summary>Sets the flag and wakes every waiter. Idempotent.</summary>
    public void Set() => Volatile.Read(ref _signal).TrySetResult();

    /// <summary>Clears the flag; later calls to <see cref="WaitAsync"/> wait for the next <see cref="Set"/>.</summary>
    public void Clear()
    {
        var current = Volatile.Read(ref _signal);
        while (current.Task.IsCompleted)
        {
            var seen = Interlocked.CompareExchange(ref _signal, NewSignal(), current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Waits until the flag is set (returns at once if it is).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the flag is set.</returns>
    public Task WaitAsync(CancellationToken cancellationToken = default)
    {
        var signal = Volatile.Read(ref _signal).Task;
        if (signal.IsCompleted)
        {
            return Task.CompletedTask;
        }

        return cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : WaitSlowAsync(signal, cancellationToken);
    }

    /// <summary>A snapshot of the event.</summary>
    /// <returns>Whether it is set and how many tasks wait.</returns>
    public AsyncEventStatistics GetStatistics() => new(IsSet, Volatile.Read(ref _waiting));

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task WaitSlowAsync(Task signal, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }
}
