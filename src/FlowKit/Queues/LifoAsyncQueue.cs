namespace FlowKit;

/// <summary>asyncio's <c>LifoQueue</c>: an <see cref="AsyncQueue{T}"/> that hands out the most recently put item first.</summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed class LifoAsyncQueue<T> : AsyncQueue<T>
{
    /// <summary>Creates a last-in first-out queue.</summary>
    /// <param name="maxSize">The most items the queue holds; 0 (the default) means unbounded.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public LifoAsyncQueue(int maxSize = 0)
        : base(maxSize, new LifoStore<T>())
    {
    }
}
