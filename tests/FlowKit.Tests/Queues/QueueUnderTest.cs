using System.Diagnostics.CodeAnalysis;

namespace FlowKit.Tests.Queues;

/// <summary>Every queue kind seen through one shape, so the conformance suite and the reliability families run against all of them.</summary>
public abstract class QueueUnderTest
{
    /// <summary>The bound the kind was created with (<see cref="int.MaxValue"/> = unbounded).</summary>
    public abstract int Capacity { get; }

    public abstract string Name { get; }

    /// <summary>True for kinds that hand items out in the order they were put (per producer).</summary>
    public abstract bool IsFifo { get; }

    public abstract Type PutClosedException { get; }

    public abstract Type GetClosedException { get; }

    public abstract int Count { get; }

    public abstract int WaitingPutters { get; }

    public abstract int WaitingGetters { get; }

    public abstract ValueTask PutAsync(int item, CancellationToken cancellationToken = default);

    /// <summary>Put without waiting: false when full; throws the closed error when closed.</summary>
    public abstract bool TryPut(int item);

    public abstract ValueTask<int> GetAsync(CancellationToken cancellationToken = default);

    public abstract bool TryGet(out int item);

    /// <summary>Closes the producing side: puts fail, gets drain then fail.</summary>
    public abstract void Close();

    /// <summary>Closes and throws the buffer away (Shutdown(immediate) for queues, disposing the receiver for channels).</summary>
    public abstract void CloseAndDrop();

    public override string ToString() => Name;

    public static QueueUnderTest Create(string kind, int capacity) => kind switch
    {
        "fifo" => new AsyncQueueUnderTest(new AsyncQueue<int>(ToMaxSize(capacity)), "AsyncQueue", fifo: true),
        "priority" => new AsyncQueueUnderTest(new PriorityAsyncQueue<int>(ToMaxSize(capacity)), "PriorityAsyncQueue", fifo: false),
        "lifo" => new AsyncQueueUnderTest(new LifoAsyncQueue<int>(ToMaxSize(capacity)), "LifoAsyncQueue", fifo: false),
        "channel" => new ChannelUnderTest(capacity),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "fifo, priority, lifo or channel"),
    };

    private static int ToMaxSize(int capacity) => capacity switch
    {
        int.MaxValue => 0,
        0 => throw new ArgumentOutOfRangeException(nameof(capacity), "queues have no rendezvous mode; use the channel kind"),
        _ => capacity,
    };
}

public sealed class AsyncQueueUnderTest(AsyncQueue<int> queue, string name, bool fifo) : QueueUnderTest
{
    public AsyncQueue<int> Queue { get; } = queue;

    public override int Capacity => Queue.MaxSize == 0 ? int.MaxValue : Queue.MaxSize;

    public override string Name => $"{name}({(Queue.MaxSize == 0 ? "unbounded" : Queue.MaxSize)})";

    public override bool IsFifo => fifo;

    public override Type PutClosedException => typeof(QueueShutDownException);

    public override Type GetClosedException => typeof(QueueShutDownException);

    public override int Count => Queue.Count;

    public override int WaitingPutters => Queue.GetStatistics().WaitingPutters;

    public override int WaitingGetters => Queue.GetStatistics().WaitingGetters;

    public override ValueTask PutAsync(int item, CancellationToken cancellationToken = default) => Queue.PutAsync(item, cancellationToken);

    public override bool TryPut(int item) => Queue.TryPut(item);

    public override ValueTask<int> GetAsync(CancellationToken cancellationToken = default) => Queue.GetAsync(cancellationToken);

    public override bool TryGet(out int item) => Queue.TryGet(out item);

    public override void Close() => Queue.Shutdown();

    public override void CloseAndDrop() => Queue.Shutdown(immediate: true);
}

public sealed class ChannelUnderTest : QueueUnderTest
{
    private readonly int _capacity;

    public ChannelUnderTest(int capacity)
    {
        _capacity = capacity;
        (Send, Receive) = capacity == int.MaxValue ? MemoryChannel.OpenUnbounded<int>() : MemoryChannel.Open<int>(capacity);
    }

    public SendChannel<int> Send { get; }

    public ReceiveChannel<int> Receive { get; }

    public override int Capacity => _capacity;

    public override string Name => $"MemoryChannel({(_capacity == int.MaxValue ? "unbounded" : _capacity)})";

    public override bool IsFifo => true;

    public override Type PutClosedException => typeof(ObjectDisposedException);

    public override Type GetClosedException => typeof(EndOfChannelException);

    public override int Count => Send.GetStatistics().CurrentBufferUsed;

    public override int WaitingPutters => Send.GetStatistics().TasksWaitingSend;

    public override int WaitingGetters => Send.GetStatistics().TasksWaitingReceive;

    public override ValueTask PutAsync(int item, CancellationToken cancellationToken = default) => Send.SendAsync(item, cancellationToken);

    public override bool TryPut(int item) => Send.TrySend(item);

    public override ValueTask<int> GetAsync(CancellationToken cancellationToken = default) => Receive.ReceiveAsync(cancellationToken);

    public override bool TryGet([MaybeNullWhen(false)] out int item) => Receive.TryReceive(out item);

    public override void Close() => Send.Dispose();

    public override void CloseAndDrop()
    {
        Send.Dispose();
        Receive.Dispose();
    }
}
