using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace FlowKit;

/// <summary>
/// asyncio's <c>Queue</c>: a first-in first-out queue for producer and consumer tasks, with <see cref="TaskDone"/>/<see cref="JoinAsync"/>
/// to wait until every item put has been processed, and <see cref="Shutdown(bool)"/> as in Python 3.13. A bounded queue never holds
/// more than <see cref="MaxSize"/> items; blocked putters and getters are served first come, first served; a cancelled
/// <see cref="PutAsync"/> never inserts its item and a cancelled <see cref="GetAsync"/> never takes one, however the cancellation
/// races a peer. <see cref="PriorityAsyncQueue{T}"/> and <see cref="LifoAsyncQueue{T}"/> derive from it with their own order.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
/// <example>
/// <code>
/// var jobs = new AsyncQueue&lt;int&gt;(maxSize: 100);
/// await Nursery.RunAsync(async nursery =>
/// {
///     for (var w = 0; w &lt; 3; w++)
///     {
///         nursery.StartSoon(async ct =>
///         {
///             while (true)
///             {
///                 var job = await jobs.GetAsync(ct);
///                 await ProcessAsync(job, ct);
///                 jobs.TaskDone();
///             }
///         });
///     }
///
///     for (var i = 0; i &lt; 1000; i++)
///     {
///         await jobs.PutAsync(i);
///     }
///
///     await jobs.JoinAsync();   // every job processed
///     nursery.Cancel();         // stop the workers
/// });
/// </code>
/// </example>
[DebuggerDisplay("Count = {Count}, MaxSize = {MaxSize}, Unfinished = {UnfinishedTasks}")]
public class AsyncQueue<T>
{
    private readonly QueueCore<T> _core;
    private readonly Lock _joinGate = new();
    private TaskCompletionSource? _joined;
    private int _unfinished;

    /// <summary>Creates a first-in first-out queue.</summary>
    /// <param name="maxSize">The most items the queue holds; 0 (the default) means unbounded, like asyncio.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public AsyncQueue(int maxSize = 0)
        : this(maxSize, new FifoStore<T>())
    {
    }

    private protected AsyncQueue(int maxSize, IQueueStore<T> store)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        MaxSize = maxSize;
        _core = new WaiterQueueCore<T>(store, maxSize == 0 ? QueueCore<T>.Unbounded : maxSize, ShutDownErrors.Instance);
    }

    /// <summary>The bound given at construction; 0 means unbounded.</summary>
    public int MaxSize { get; }

    /// <summary>The number of items in the queue now (asyncio's <c>qsize()</c>); items of blocked putters are not counted.</summary>
    public int Count => _core.Count;

    /// <summary>True when the queue holds no item.</summary>
    public bool IsEmpty => _core.Count == 0;

    /// <summary>True when a bounded queue holds <see cref="MaxSize"/> items (never for an unbounded queue).</summary>
    public bool IsFull => MaxSize > 0 && _core.Count >= MaxSize;

    /// <summary>True once <see cref="Shutdown(bool)"/> has been called.</summary>
    public bool IsShutDown => _core.IsClosed;

    /// <summary>Items put and not yet marked done with <see cref="TaskDone"/>.</summary>
    public int UnfinishedTasks => Volatile.Read(ref _unfinished);

    /// <summary>Puts an item, waiting while the queue is full.</summary>
    /// <param name="item">The item.</param>
    /// <param name="cancellationToken">Cancels the wait; the item is then not in the queue.</param>
    /// <returns>A task that completes when the item is in the queue (or handed to a getter).</returns>
    /// <exception cref="QueueShutDownException">The queue is shut down, or was shut down while this put waited.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the item went in.</exception>
    public ValueTask PutAsync(T item, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        // Counted before the item becomes visible, so a getter's TaskDone can never run ahead of its put; undone if the put fails.
        Interlocked.Increment(ref _unfinished);
        var put = _core.PutAsync(item, cancellationToken);
        return put.IsCompletedSuccessfully ? put : AwaitPutAsync(put);
    }

    /// <summary>Puts an item without waiting.</summary>
    /// <param name="item">The item.</param>
    /// <exception cref="QueueFullException">The queue is full.</exception>
    /// <exception cref="QueueShutDownException">The queue is shut down.</exception>
    public void PutNowait(T item)
    {
        if (!TryPut(item))
        {
            throw new QueueFullException($"The queue is full ({MaxSize} items).");
        }
    }

    /// <summary>Puts an item if there is room now.</summary>
    /// <param name="item">The item.</param>
    /// <returns>True if the item went in; false if the queue is full.</returns>
    /// <exception cref="QueueShutDownException">The queue is shut down.</exception>
    public bool TryPut(T item)
    {
        Interlocked.Increment(ref _unfinished);
        bool added;
        try
        {
            added = _core.TryPut(item);
        }
        catch
        {
            ReleaseUnfinished(1);
            throw;
        }

        if (!added)
        {
            ReleaseUnfinished(1);
        }

        return added;
    }

    /// <summary>Takes the next item, waiting while the queue is empty.</summary>
    /// <param name="cancellationToken">Cancels the wait; no item is taken then.</param>
    /// <returns>The item.</returns>
    /// <exception cref="QueueShutDownException">The queue is shut down and drained.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before an item was taken.</exception>
    public ValueTask<T> GetAsync(CancellationToken cancellationToken = default) => _core.GetAsync(cancellationToken);

    /// <summary>Takes the next item without waiting.</summary>
    /// <returns>The item.</returns>
    /// <exception cref="QueueEmptyException">The queue is empty.</exception>
    /// <exception cref="QueueShutDownException">The queue is shut down and drained.</exception>
    public T GetNowait()
    {
        if (_core.TryGet(out var item))
        {
            return item;
        }

        throw _core.IsClosed ? new QueueShutDownException("The queue has been shut down and is empty.") : new QueueEmptyException();
    }

    /// <summary>Takes the next item if there is one now.</summary>
    /// <param name="item">The item, when the result is true.</param>
    /// <returns>True if an item was taken; false if the queue is empty (shut down or not).</returns>
    public bool TryGet([MaybeNullWhen(false)] out T item) => _core.TryGet(out item);

    /// <summary>Marks one item taken from the queue as processed; <see cref="JoinAsync"/> returns when every item put is marked.</summary>
    /// <exception cref="InvalidOperationException">Called more times than items were put.</exception>
    public void TaskDone()
    {
        var current = Volatile.Read(ref _unfinished);
        while (true)
        {
            if (current <= 0)
            {
                throw new InvalidOperationException("TaskDone() was called more times than there were items put in the queue.");
            }

            var seen = Interlocked.CompareExchange(ref _unfinished, current - 1, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }

        if (current == 1)
        {
            ReleaseJoiners();
        }
    }

    /// <summary>Waits until every item put has been marked done with <see cref="TaskDone"/> (asyncio's <c>join()</c>).</summary>
    /// <param name="cancellationToken">Cancels the wait (not the work).</param>
    /// <returns>A task that completes when the count of unfinished items reaches zero.</returns>
    public Task JoinAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        Task joined;
        lock (_joinGate)
        {
            if (Volatile.Read(ref _unfinished) == 0)
            {
                return Task.CompletedTask;
            }

            _joined ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            joined = _joined.Task;
        }

        return cancellationToken.CanBeCanceled ? joined.WaitAsync(cancellationToken) : joined;
    }

    /// <summary>
    /// Shuts the queue down (Python 3.13): puts fail with <see cref="QueueShutDownException"/>, blocked putters are woken with it, and
    /// gets drain the remaining items, then fail with it. With <paramref name="immediate"/> the remaining items are discarded (each
    /// counted as done, which may release <see cref="JoinAsync"/>) and blocked getters fail at once. Calling it again is allowed.
    /// </summary>
    /// <param name="immediate">Discard the items still in the queue.</param>
    public void Shutdown(bool immediate = false)
    {
        var dropped = _core.Close(immediate);
        if (dropped > 0)
        {
            ReleaseUnfinished(dropped);
        }
    }

    /// <summary>A snapshot of the queue's counters.</summary>
    /// <returns>Depth, bound, unfinished items, blocked putters and getters.</returns>
    public AsyncQueueStatistics GetStatistics() =>
        new(_core.Count, MaxSize, UnfinishedTasks, _core.WaitingPutters, _core.WaitingGetters, _core.IsClosed);

    private async ValueTask AwaitPutAsync(ValueTask put)
    {
        try
        {
            await put.ConfigureAwait(false);
        }
        catch
        {
            ReleaseUnfinished(1);
            throw;
        }
    }

    private void ReleaseUnfinished(int count)
    {
        var current = Volatile.Read(ref _unfinished);
        while (true)
        {
            var next = Math.Max(0, current - count);
            var seen = Interlocked.CompareExchange(ref _unfinished, next, current);
            if (seen == current)
            {
                if (next == 0 && current != 0)
                {
                    ReleaseJoiners();
                }

                return;
            }

            current = seen;
        }
    }

    private void ReleaseJoiners()
    {
        TaskCompletionSource? joined;
        lock (_joinGate)
        {
            // A put may have raised the count again since it reached zero; then the joiners keep waiting for that item.
            if (Volatile.Read(ref _unfinished) != 0)
            {
                return;
            }

            joined = _joined;
            _joined = null;
        }

        joined?.TrySetResult();
    }

    private sealed class ShutDownErrors : IQueueClosedErrors
    {
        public static readonly ShutDownErrors Instance = new();

        public Exception PutClosed() => new QueueShutDownException("The queue has been shut down: no more items can be put.");

        public Exception GetClosed() => new QueueShutDownException("The queue has been shut down and is empty.");
    }
}
