using System.Diagnostics.CodeAnalysis;

namespace FlowKit;

/// <summary>Which exception a closed queue raises: the queues say "shut down", memory channels say "end of channel" or "broken".</summary>
internal interface IQueueClosedErrors
{
    /// <summary>The exception for a put or send on a closed queue.</summary>
    Exception PutClosed();

    /// <summary>The exception for a get or receive on a closed, drained queue.</summary>
    Exception GetClosed();
}

/// <summary>
/// The storage and waiting behind <see cref="AsyncQueue{T}"/> and the memory channels; implemented by <see cref="WaiterQueueCore{T}"/>
/// (a lock with waiter lists and an ordered store).
/// Contract: a cancelled put never inserts its item, a cancelled get never takes one, waiters are served first come first served,
/// and the buffer never holds more than <see cref="Capacity"/> items.
/// </summary>
internal abstract class QueueCore<T>
{
    /// <summary>The capacity meaning "no bound".</summary>
    public const int Unbounded = int.MaxValue;

    protected QueueCore(int capacity, IQueueClosedErrors errors)
    {
        Capacity = capacity;
        Errors = errors;
    }

    /// <summary>The most items the buffer holds (0 = rendezvous, <see cref="Unbounded"/> = no bound).</summary>
    public int Capacity { get; }

    protected IQueueClosedErrors Errors { get; }

    /// <summary>Items in the buffer now.</summary>
    public abstract int Count { get; }

    /// <summary>True once <see cref="Close"/> has been called.</summary>
    public abstract bool IsClosed { get; }

    /// <summary>Callers waiting to put.</summary>
    public abstract int WaitingPutters { get; }

    /// <summary>Callers waiting to get.</summary>
    public abstract int WaitingGetters { get; }

    /// <summary>Adds the item if there is room now (or hands it to a waiting getter); false when full. Throws the put-closed error when closed.</summary>
    public abstract bool TryPut(T item);

    /// <summary>Adds the item, waiting for room. Never throws synchronously: failures come back in the task.</summary>
    public abstract ValueTask PutAsync(T item, CancellationToken cancellationToken);

    /// <summary>Takes an item if one is available now; false when empty (open or closed).</summary>
    public abstract bool TryGet([MaybeNullWhen(false)] out T item);

    /// <summary>Takes an item, waiting for one; the get-closed error once closed and drained. Never throws synchronously.</summary>
    public abstract ValueTask<T> GetAsync(CancellationToken cancellationToken);

    /// <summary>Closes the queue: puts fail from now on and waiting putters are failed; gets drain what is left, then fail.
    /// With <paramref name="dropItems"/> the buffered items are discarded too. Idempotent.</summary>
    /// <returns>The number of items discarded.</returns>
    public abstract int Close(bool dropItems);
}
