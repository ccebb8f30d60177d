using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace FlowKit;

/// <summary>
/// One blocked put or get of a <see cref="WaiterQueueCore{T}"/>: the awaitable, the item a putter brings, and the links of the
/// intrusive waiter list (so a cancelled waiter leaves its list in O(1)). Completion is claimed with one atomic exchange, so exactly
/// one of "matched by a peer" and "cancelled" wins; a peer takes a putter's item only after winning that claim, which is why a
/// cancelled put never half-inserts and a cancelled get never swallows an item. Continuations always run asynchronously, so a
/// completion made under the core's lock never runs user code there.
/// </summary>
internal sealed class QueueWaiter<T> : IValueTaskSource<T>, IValueTaskSource
{
    private readonly WaiterQueueCore<T> _owner;
    private readonly CancellationToken _token;
    private ManualResetValueTaskSourceCore<T> _source;
    private CancellationTokenRegistration _registration;
    private int _claimed;

    public QueueWaiter(WaiterQueueCore<T> owner, T item, CancellationToken cancellationToken)
    {
        _owner = owner;
        _token = cancellationToken;
        Item = item;
        _source.RunContinuationsAsynchronously = true;
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(static s => ((QueueWaiter<T>)s!).OnCanceled(), this);
        }
    }

    /// <summary>The item a putter brings (default for getters).</summary>
    public T Item { get; }

    /// <summary>The list this waiter is linked into, or null.</summary>
    internal WaiterList<T>? List { get; set; }

    internal QueueWaiter<T>? Next { get; set; }

    internal QueueWaiter<T>? Previous { get; set; }

    /// <summary>True once matched, failed or cancelled.</summary>
    public bool IsCompleted => Volatile.Read(ref _claimed) != 0;

    public ValueTask<T> AsValueTask() => new(this, _source.Version);

    public ValueTask AsNonGenericValueTask() => new(this, _source.Version);

    /// <summary>Completes with a value unless already completed or cancelled.</summary>
    public bool TrySetResult(T value)
    {
        if (Interlocked.Exchange(ref _claimed, 1) != 0)
        {
            return false;
        }

        _registration.Unregister();
        _source.SetResult(value);
        return true;
    }

    /// <summary>Fails the waiter unless already completed or cancelled.</summary>
    public bool TrySetException(Exception error)
    {
        if (Interlocked.Exchange(ref _claimed, 1) != 0)
        {
            return false;
        }

        _registration.Unregister();
        _source.SetException(error);
        return true;
    }

    /// <summary>Drops a waiter that was never enqueued (the operation finished without waiting): releases its token registration.</summary>
    public void Abandon()
    {
        if (Interlocked.Exchange(ref _claimed, 1) == 0)
        {
            _registration.Unregister();
        }
    }

    public T GetResult(short token) => _source.GetResult(token);

    void IValueTaskSource.GetResult(short token) => _source.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _source.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _source.OnCompleted(continuation, state, token, flags);

    private void OnCanceled()
    {
        if (Interlocked.Exchange(ref _claimed, 1) != 0)
        {
            return;
        }

        _owner.Unlink(this);
        Debug.Assert(List is null, "a cancelled waiter must have left its list");
        _source.SetException(new OperationCanceledException(_token));
    }
}

/// <summary>An intrusive doubly linked FIFO list of waiters; every member is called under the owning core's lock.</summary>
internal sealed class WaiterList<T>
{
    private QueueWaiter<T>? _head;
    private QueueWaiter<T>? _tail;

    public int Count { get; private set; }

    public void Enqueue(QueueWaiter<T> waiter)
    {
        Debug.Assert(waiter.List is null, "a waiter is in one list at most");
        waiter.List = this;
        waiter.Previous = _tail;
        waiter.Next = null;
        if (_tail is null)
        {
            _head = waiter;
        }
        else
        {
            _tail.Next = waiter;
        }

        _tail = waiter;
        Count++;
    }

    public QueueWaiter<T>? Dequeue()
    {
        var waiter = _head;
        if (waiter is not null)
        {
            Remove(waiter);
        }

        return waiter;
    }

    public void Remove(QueueWaiter<T> waiter)
    {
        Debug.Assert(waiter.List == this, "removing a waiter from a list it is not in");
        if (waiter.Previous is null)
        {
            _head = waiter.Next;
        }
        else
        {
            waiter.Previous.Next = waiter.Next;
        }

        if (waiter.Next is null)
        {
            _tail = waiter.Previous;
        }
        else
        {
            waiter.Next.Previous = waiter.Previous;
        }

        waiter.Next = null;
        waiter.Previous = null;
        waiter.List = null;
        Count--;
    }
}
