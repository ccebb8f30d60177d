namespace FlowKit;

/// <summary>What every clone of both ends of one memory channel shares: the buffer and the counts of open clones.</summary>
internal sealed class MemoryChannelState<T> : IQueueClosedErrors
{
    private int _openSenders = 1;
    private int _openReceivers = 1;

    public MemoryChannelState(int capacity)
    {
        Capacity = capacity;
        Core = new WaiterQueueCore<T>(new FifoStore<T>(), capacity, this);
    }

    public int Capacity { get; }

    public WaiterQueueCore<T> Core { get; }

    public void AddSender() => Interlocked.Increment(ref _openSenders);

    public void AddReceiver() => Interlocked.Increment(ref _openReceivers);

    /// <summary>The last send clone closing ends the channel: receivers drain the buffer, then get <see cref="EndOfChannelException"/>.</summary>
    public void ReleaseSender()
    {
        if (Interlocked.Decrement(ref _openSenders) == 0)
        {
            Core.Close(dropItems: false);
        }
    }

    /// <summary>The last receive clone closing breaks the channel: buffered items are dropped and senders get <see cref="BrokenChannelException"/>.</summary>
    public void ReleaseReceiver()
    {
        if (Interlocked.Decrement(ref _openReceivers) == 0)
        {
            Core.Close(dropItems: true);
        }
    }

    public MemoryChannelStatistics GetStatistics() => new(
        Core.Count,
        Capacity,
        Volatile.Read(ref _openSenders),
        Volatile.Read(ref _openReceivers),
        Core.WaitingPutters,
        Core.WaitingGetters);

    public Exception PutClosed() => Volatile.Read(ref _openReceivers) == 0
        ? new BrokenChannelException()
        : new ObjectDisposedException(nameof(SendChannel<>), "Every send channel has been disposed.");

    public Exception GetClosed() => Volatile.Read(ref _openSenders) == 0
        ? new EndOfChannelException()
        : new ObjectDisposedException(nameof(ReceiveChannel<>), "Every receive channel has been disposed.");
}
