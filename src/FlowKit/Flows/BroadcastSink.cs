using System.Diagnostics;

namespace FlowKit;

/// <summary>
/// One consumer of <see cref="Flow.BroadcastAsync{T}(Flow{T}, IEnumerable{BroadcastSink{T}}, CancellationToken)"/>: a function that runs a flow
/// over its own bounded buffer, with its own policy for when it falls behind.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
/// <example>
/// <code>
/// var audit = new BroadcastSink&lt;Order&gt;("audit", (orders, ct) => orders.Batch(100).ForEachAsync(WriteAuditAsync, ct)) { Capacity = 1000, WhenFull = SlowConsumerPolicy.Drop };
/// </code>
/// </example>
[DebuggerDisplay("{Name,nq}: capacity {Capacity}, {WhenFull}")]
public sealed class BroadcastSink<T>
{
    private long _delivered;
    private long _dropped;

    /// <summary>Creates a sink.</summary>
    /// <param name="name">The sink's stage name (errors, metrics, buffers).</param>
    /// <param name="consume">Runs the sink: it gets a flow over its buffer and the run's token, and is expected to run that flow to the end.
    /// If it returns early, later items for it are counted as dropped.</param>
    public BroadcastSink(string name, Func<Flow<T>, CancellationToken, Task> consume)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(consume);
        Name = name;
        Consume = consume;
    }

    /// <summary>The sink's stage name.</summary>
    public string Name { get; }

    /// <summary>The sink's buffer.</summary>
    /// <value>The default value is 64. Allowed: 1 to 1,048,576.</value>
    public int Capacity
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1 << 20);
            field = value;
        }
    } = 64;

    /// <summary>What happens when the sink's buffer is full.</summary>
    /// <value>The default value is <see cref="SlowConsumerPolicy.Wait"/>.</value>
    public SlowConsumerPolicy WhenFull
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "WhenFull must be Wait or Drop.");
            }

            field = value;
        }
    }

    internal Func<Flow<T>, CancellationToken, Task> Consume { get; }

    /// <summary>The sink's counters over all runs so far.</summary>
    /// <returns>The snapshot.</returns>
    public BroadcastSinkStatistics GetStatistics() => new(Interlocked.Read(ref _delivered), Interlocked.Read(ref _dropped));

    internal void CountDelivered() => Interlocked.Increment(ref _delivered);

    internal void CountDropped() => Interlocked.Increment(ref _dropped);
}
