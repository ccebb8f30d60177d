using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of a <see cref="BroadcastSink{T}"/>'s counters over all its runs.</summary>
/// <param name="Delivered">Items put in the sink's buffer.</param>
/// <param name="Dropped">Items the sink missed: its buffer was full under <see cref="SlowConsumerPolicy.Drop"/>, or it had stopped reading.</param>
[DebuggerDisplay("Delivered = {Delivered}, Dropped = {Dropped}")]
public readonly record struct BroadcastSinkStatistics(long Delivered, long Dropped);
