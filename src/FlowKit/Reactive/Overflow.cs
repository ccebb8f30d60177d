namespace FlowKit;

/// <summary>
/// What a bounded buffer does when a push source (an <see cref="IObservable{T}"/>, a socket) outruns its consumer and the buffer is full.
/// </summary>
public enum Overflow
{
    /// <summary>Block the producer until there is room (backpressure, where the source allows it).</summary>
    Wait,

    /// <summary>Drop the oldest buffered item to make room for the new one.</summary>
    DropOldest,

    /// <summary>Drop the new item and keep what is buffered.</summary>
    DropNewest,

    /// <summary>Fail the consumer with an error saying the buffer overflowed.</summary>
    Fail,
}
