using System.Diagnostics.CodeAnalysis;

namespace FlowKit;

/// <summary>
/// The queue core behind every FlowKit queue and memory channel (FIFO, priority, LIFO; bounded, unbounded or rendezvous): one lock,
/// a store, and FIFO lists of blocked getters and putters. FlowKit does not sit on <see cref="System.Threading.Channels.Channel{T}"/>
/// here: the runtime's bounded channel has lost items when a cancellation raced a completing read (dotnet/runtime 37671 and its
/// .NET 10 regression), and the queues promise that a cancelled get never takes an item and a cancelled put never inserts one. Invariants under the
/// lock: getters wait only while the store is empty; putters wait only while the store is full (always, at capacity 0); a put with a
/// getter waiting hands its item straight to that getter; a get that frees a slot admits the first waiting putter's item at once, so
/// a newcomer can never overtake a waiting putter.
/// </summary>
internal sealed class WaiterQueueCore<T> : QueueCore<T>
{
    private readonly Lock _gate = new();
    private readonly IQueueStore<T> _store;
    private readonly WaiterList<T> _getters = new();
    private readonly WaiterList<T> _putters = new();
    private bool _closed;

    public WaiterQueueCore(IQueueStore<T> store, int capacity, IQueueClosedErrors errors)
        : base(capacity, errors) => _store = store;

    public override int Count
    {
        get
        {
            lock (_gate)
            {
                return _store.Count;
            }
        }
    }

    public override bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    public override int WaitingPutters
    {
        get
        {
            lock (_gate)
            {
                return _putters.Count;
            }
        }
    }

    public override int WaitingGetters
    {
        get
        {
            lock (_gate)
            {
                return _getters.Count;
            }
        }
    }

    public override bool TryPut(T item)
    {
        lock (_gate)
        {
            if (_closed)
            {
                throw Errors.PutClosed();
            }

            return TryPutLocked(item);
        }
    }

    public override ValueTask PutAsync(T item, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        QueueWaiter<T>? waiter = null;
        while (true)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    waiter?.Abandon();
                    return ValueTask.FromException(Errors.PutClosed());
                }

                if (TryPutLocked(item))
                {
                    waiter?.Abandon();
                    return default;
                }

                if (waiter is not null)
                {
                    if (!waiter.IsCompleted)
                    {
                        _putters.Enqueue(waiter);
                    }

                    return waiter.AsNonGenericValueTask();
                }
            }

            // Registering the token outside the lock: a token cancelled meanwhile runs the callback inline, which takes the lock.
            waiter = new QueueWaiter<T>(this, item, cancellationToken);
        }
    }

    public override bool TryGet([MaybeNullWhen(false)] out T item)
    {
        lock (_gate)
        {
            return TryGetLocked(out item);
        }
    }

    public override ValueTask<T> GetAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<T>(cancellationToken);
        }

        QueueWaiter<T>? waiter = null;
        while (true)
        {
            lock (_gate)
            {
                if (TryGetLocked(out var item))
                {
                    waiter?.Abandon();
                    return new ValueTask<T>(item);
                }

                if (_closed)
                {
                    waiter?.Abandon();
                    return ValueTask.FromException<T>(Errors.GetClosed());
                }

                if (waiter is not null)
                {
                    if (!waiter.IsCompleted)
                    {
                        _getters.Enqueue(waiter);
                    }

                    return waiter.AsValueTask();
                }
            }

            waiter = new QueueWaiter<T>(this, default!, cancellationToken);
        }
    }

    public override int Close(bool dropItems)
    {
        lock (_gate)
        {
            _closed = true;

            // Putters wait only while the store is full: none of their items ever went in.
            while (_putters.Dequeue() is { } putter)
            {
                putter.TrySetException(Errors.PutClosed());
            }

            // Getters wait only while the store is empty: closed and drained, so they end now.
            while (_getters.Dequeue() is { } getter)
            {
                getter.TrySetException(Errors.GetClosed());
            }

            if (!dropItems)
            {
                return 0;
            }

            var dropped = _store.Count;
            _store.Clear();
            return dropped;
        }
    }

    /// <summary>Removes a cancelled waiter from whichever list holds it (called from its cancellation callback).</summary>
    internal void Unlink(QueueWaiter<T> waiter)
    {
        lock (_gate)
        {
            waiter.List?.Remove(waiter);
        }
    }

    private bool TryPutLocked(T item)
    {
        while (_getters.Dequeue() is { } getter)
        {
            if (getter.TrySetResult(item))
            {
                return true;
            }
        }

        if (_store.Count < Capacity)
        {
            _store.Add(item);
            return true;
        }

        return false;
    }

    private bool TryGetLocked([MaybeNullWhen(false)] out T item)
    {
        if (_store.Count > 0)
        {
            item = _store.Take();

            // A slot is free: admit the first putter that is still waiting.
            while (_putters.Dequeue() is { } putter)
            {
                if (putter.TrySetResult(default!))
                {
                    _store.Add(putter.Item);
                    break;
                }
            }

            return true;
        }

        // Rendezvous (or a store that is empty while putters wait, which only capacity 0 allows): take straight from a putter.
        while (_putters.Dequeue() is { } putter)
        {
            if (putter.TrySetResult(default!))
            {
                item = putter.Item;
                return true;
            }
        }

        item = default;
        return false;
    }
}
