namespace FlowKit;

/// <summary>
/// What a bounded buffer does when a push source (an <see cref="IObservable{T}"/>, a socket) offers an item and the buffer is full.
/// A push source cannot be slowed down by asking, so the choice is explicit; nothing grows without bound.
/// </summary>
public enum Overflow
{
    /// <summary>The producer waits for room. For an <see cref="IObservable{T}"/> this blocks the thread calling <c>OnNext</c> until the
    /// consumer takes an item (or stops), so nothing is lost; never use it with a source that emits on a thread the consumer needs.</summary>
    Wait = 0,

    /// <summary>The oldest buffered item is dropped to make room: the buffer keeps the most recent items.</summary>
    DropOldest = 1,

    /// <summary>The item being offered (the newest) is dropped: the buffer keeps the items it already holds.</summary>
    DropNewest = 2,

    /// <summary>The stream fails: the consumer receives the items already buffered, then a <see cref="BufferOverflowException"/>,
    /// and the source is unsubscribed.</summary>
    Fail = 3,
}
