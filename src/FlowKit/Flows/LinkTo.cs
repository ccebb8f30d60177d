using System.Threading.Tasks.Dataflow;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>Runs the flow into a Dataflow target: the name the issue and Dataflow users know (<c>source.LinkTo(target)</c>);
    /// identical to <see cref="LinkToAsync{T}(Flow{T}, ITargetBlock{T}, CancellationToken)"/>.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="target">The block to feed.</param>
    /// <param name="cancellationToken">Stops every stage.</param>
    /// <returns>A task that completes when every item has been accepted by the target.</returns>
    public static Task LinkTo<T>(this Flow<T> flow, ITargetBlock<T> target, CancellationToken cancellationToken = default) =>
        LinkToAsync(flow, target, cancellationToken);

    /// <summary>Runs the flow and sends every item to a Dataflow target with <c>SendAsync</c> (so a bounded target gives backpressure);
    /// completes the target at the end, or faults it when the flow fails.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="target">The block to feed; if it declines an item, the flow fails.</param>
    /// <param name="cancellationToken">Stops every stage; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when every item has been accepted by the target (not necessarily processed: await its
    /// <see cref="IDataflowBlock.Completion"/> for that).</returns>
    public static async Task LinkToAsync<T>(this Flow<T> flow, ITargetBlock<T> target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            await FlowRun.RunAsync(flow, run => new TargetSink<T>(run.Sink(flow, "LinkTo"), target), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            target.Fault(ex);
            BlockPump.ObserveFault(target);
            throw;
        }

        target.Complete();
    }

    private sealed class TargetSink<T>(StageContext stage, ITargetBlock<T> target) : Emitter<T>
    {
        public override ValueTask EmitAsync(T item, CancellationToken cancellationToken) =>
            target.Post(item) ? default : SendAsync(item, cancellationToken);

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => default;

        private async ValueTask SendAsync(T item, CancellationToken cancellationToken)
        {
            if (!await target.SendAsync(item, cancellationToken).ConfigureAwait(false))
            {
                throw new FlowStageException(stage.Name, item, new InvalidOperationException("The target block declined an item: it has completed or faulted."));
            }
        }
    }
}
