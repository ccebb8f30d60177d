namespace FlowKit;

/// <summary>
/// Trio's memory channels: <see cref="Open{T}(int)"/> returns a connected pair of a <see cref="SendChannel{T}"/> and a
/// <see cref="ReceiveChannel{T}"/>. Each end can be cloned for several producers or consumers; the receive side ends when every send
/// clone is disposed, and sending fails with <see cref="BrokenChannelException"/> once every receive clone is disposed.
/// </summary>
/// <example>
/// <code>
/// var (send, receive) = MemoryChannel.Open&lt;int&gt;(capacity: 0);
/// await Nursery.RunAsync(nursery =>
/// {
///     nursery.StartSoon(async ct =>
///     {
///         using (send)
///         {
///             for (var i = 0; i &lt; 3; i++)
///             {
///                 await send.SendAsync(i, ct);
///             }
///         }   // disposing the last send clone ends the receiver's loop
///     });
///     nursery.StartSoon(async ct =>
///     {
///         using (receive)
///         {
///             await foreach (var value in receive.WithCancellation(ct))
///             {
///                 Console.WriteLine(value);
///             }
///         }
///     });
///     return Task.CompletedTask;
/// });
/// </code>
/// </example>
public static class MemoryChannel
{
    /// <summary>Opens a channel with a bounded buffer (Trio's <c>open_memory_channel(max_buffer_size)</c>).</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="capacity">Items the buffer holds before <see cref="SendChannel{T}.SendAsync"/> waits; 0 is a rendezvous, where each
    /// send completes only when a receiver has taken the item.</param>
    /// <returns>The send side and the receive side.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is negative.</exception>
    public static (SendChannel<T> Send, ReceiveChannel<T> Receive) Open<T>(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        return Create(new MemoryChannelState<T>(capacity));
    }

    /// <summary>Opens a channel whose buffer has no bound (Trio's <c>open_memory_channel(math.inf)</c>): sends never wait.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <returns>The send side and the receive side.</returns>
    public static (SendChannel<T> Send, ReceiveChannel<T> Receive) OpenUnbounded<T>() =>
        Create(new MemoryChannelState<T>(QueueCore<T>.Unbounded));

    private static (SendChannel<T> Send, ReceiveChannel<T> Receive) Create<T>(MemoryChannelState<T> state) =>
        (new SendChannel<T>(state), new ReceiveChannel<T>(state));
}
