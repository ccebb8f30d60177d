namespace FlowKit;

/// <summary>The order in which a <see cref="WaiterQueueCore{T}"/> hands out its buffered items. Called under the core's lock.</summary>
internal interface IQueueStore<T>
{
    int Count { get; }

    void Add(T item);

    T Take();

    void Clear();
}

/// <summary>First in, first out: <see cref="AsyncQueue{T}"/> and the memory channels.</summary>
internal sealed class FifoStore<T> : IQueueStore<T>
{
    private readonly Queue<T> _items = new();

    public int Count => _items.Count;

    public void Add(T item) => _items.Enqueue(item);

    public T Take() => _items.Dequeue();

    public void Clear() => _items.Clear();
}

/// <summary>Last in, first out, like <c>asyncio.LifoQueue</c>.</summary>
internal sealed class LifoStore<T> : IQueueStore<T>
{
    private readonly Stack<T> _items = new();

    public int Count => _items.Count;

    public void Add(T item) => _items.Push(item);

    public T Take() => _items.Pop();

    public void Clear() => _items.Clear();
}

/// <summary>Smallest first by a comparer, first in first out among equals (a sequence number breaks ties).</summary>
internal sealed class PriorityStore<T> : IQueueStore<T>
{
    private readonly PriorityQueue<T, (T Item, long Sequence)> _items;
    private long _sequence;

    public PriorityStore(IComparer<T> comparer) => _items = new(new KeyComparer(comparer));

    public int Count => _items.Count;

    public void Add(T item) => _items.Enqueue(item, (item, _sequence++));

    public T Take() => _items.Dequeue();

    public void Clear() => _items.Clear();

    private sealed class KeyComparer(IComparer<T> comparer) : IComparer<(T Item, long Sequence)>
    {
        public int Compare((T Item, long Sequence) x, (T Item, long Sequence) y)
        {
            var c = comparer.Compare(x.Item, y.Item);
            return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
