using System.Threading.Channels;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Runs the flow and gives every item to every sink, each through its own bounded buffer and slow-consumer policy; the sinks run in the
    /// same nursery as the flow, so a failing sink stops everything and the call returns when the flow and every sink have finished.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="sinks">At least one sink, with distinct instances.</param>
    /// <param name="cancellationToken">Stops the flow and every sink; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when the flow and every sink have finished.</returns>
    /// <example>
    /// <code>
    /// await events.BroadcastAsync(
    /// [
    ///     new BroadcastSink&lt;Event&gt;("store", (f, ct) => f.Batch(500).ForEachAsync(StoreAsync, ct)),
    ///     new BroadcastSink&lt;Event&gt;("live", (f, ct) => f.ForEachAsync(PushToDashboard, ct)) { WhenFull = SlowConsumerPolicy.Drop },
    /// ], ct);
    /// </code>
    /// </example>
    public static Task BroadcastAsync<T>(this Flow<T> flow, IEnumerable<BroadcastSink<T>> sinks, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(sinks);
        var list = sinks.ToArray();
        ArgumentOutOfRangeException.ThrowIfZero(list.Length, nameof(sinks));
        if (list.Any(s => s is null))
        {
            throw new ArgumentNullException(nameof(sinks), "sinks must not contain null.");
        }

        if (list.Distinct(ReferenceEqualityComparer.Instance).Count() != list.Length)
        {
            throw new ArgumentException("sinks must not contain the same sink twice.", nameof(sinks));
        }

        return FlowRun.RunAsync(flow, run => new BroadcastEmitter<T>(run, run.Sink(flow, "Broadcast"), list), cancellationToken);
    }

    private sealed class BroadcastEmitter<T> : Emitter<T>
    {
        private readonly Branch[] _branches;
        private readonly StageContext _stage;

        public BroadcastEmitter(FlowRun run, StageContext stage, BroadcastSink<T>[] sinks)
        {
            _stage = stage;
            _branches = new Branch[sinks.Length];
            for (var i = 0; i < sinks.Length; i++)
            {
                var sink = sinks[i];
                var channel = run.CreateBuffer<T>(sink.Name, sink.Capacity, singleReader: true, singleWriter: true);
                var branchStage = new StageContext(run, sink.Name, StageOptions.Default);
                _branches[i] = new Branch(sink, channel.Writer, branchStage);
                var source = From(channel.Reader).WithFlowName(run.FlowName).Named(sink.Name + " input");
                run.AddSegment(async ct =>
                {
                    try
                    {
                        await sink.Consume(source, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        // A sink that stopped reading must not hold the broadcast: its later items are dropped.
                        channel.Writer.TryComplete();
                    }
                });
            }
        }

        public override async ValueTask EmitAsync(T item, CancellationToken cancellationToken)
        {
            _stage.CountIn();
            foreach (var branch in _branches)
            {
                if (branch.Writer.TryWrite(item))
                {
                    branch.Sink.CountDelivered();
                    continue;
                }

                if (branch.Sink.WhenFull == SlowConsumerPolicy.Wait)
                {
                    try
                    {
                        await branch.Writer.WriteAsync(item, CancellationToken.None).ConfigureAwait(false);
                        branch.Sink.CountDelivered();
                        continue;
                    }
                    catch (ChannelClosedException)
                    {
                        // The sink has stopped reading.
                    }
                }

                branch.Sink.CountDropped();
                branch.Stage.CountDropped();
            }
        }

        public override ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            foreach (var branch in _branches)
            {
                branch.Writer.TryComplete();
            }

            return default;
        }

        private sealed record Branch(BroadcastSink<T> Sink, ChannelWriter<T> Writer, StageContext Stage);
    }
}
