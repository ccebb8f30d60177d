namespace FlowKit;

/// <summary>
/// asyncio's <c>PriorityQueue</c>: an <see cref="AsyncQueue{T}"/> that hands out the smallest item first by a comparer, and items
/// that compare equal in the order they were put.
/// </summary>
/// <typeparam name="T">The item type; use a tuple such as <c>(int Priority, string Job)</c> to attach a priority.</typeparam>
public sealed class PriorityAsyncQueue<T> : AsyncQueue<T>
{
    /// <summary>Creates a priority queue.</summary>
    /// <param name="maxSize">The most items the queue holds; 0 (the default) means unbounded.</param>
    /// <param name="comparer">Orders the items, smallest first; null means <see cref="Comparer{T}.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public PriorityAsyncQueue(int maxSize = 0, IComparer<T>? comparer = null)
        : base(maxSize, new PriorityStore<T>(comparer ?? Comparer<T>.Default))
    {
    }
}
