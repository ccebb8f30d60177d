using System.Threading.Tasks.Dataflow;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Runs any Dataflow block as a stage: items are sent with <c>SendAsync</c> (so a bounded block gives backpressure), its output is received
    /// by the next stage, and its completion and fault become the stage's. A block is single-use: give each run a new one through the factory overload.
    /// </summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TResult">The output item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="block">The block; it is completed when the upstream completes and faulted when the run stops early. The run returns only
    /// once the block's <c>Completion</c> has finished, so none of its delegates is still running then (a delegate that never returns keeps
    /// the run from returning).</param>
    /// <returns>The flow of the block's output.</returns>
    /// <example>
    /// <code>
    /// flow.Via(new TransformBlock&lt;int, int&gt;(x => x * 2, new ExecutionDataflowBlockOptions { BoundedCapacity = 64 }));
    /// </code>
    /// </example>
    public static Flow<TResult> Via<T, TResult>(this Flow<T> flow, IPropagatorBlock<T, TResult> block)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(block);
        return new ViaStage<T, TResult>(flow, () => block);
    }

    /// <summary>Runs a new Dataflow block from <paramref name="blockFactory"/> as a stage in every run; see <see cref="Via{T, TResult}(Flow{T}, IPropagatorBlock{T, TResult})"/>.</summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TResult">The output item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="blockFactory">Creates the block for one run.</param>
    /// <returns>The flow of the block's output.</returns>
    public static Flow<TResult> Via<T, TResult>(this Flow<T> flow, Func<IPropagatorBlock<T, TResult>> blockFactory)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(blockFactory);
        return new ViaStage<T, TResult>(flow, blockFactory);
    }

    private sealed class ViaStage<T, TResult>(Flow<T> upstream, Func<IPropagatorBlock<T, TResult>> factory) : Flow<TResult>("Via", upstream)
    {
        internal override IReadOnlyList<IFlowNode> Inputs => [upstream];

        internal override string Details => "Dataflow block";

        internal override string EdgeLabel => "SendAsync";

        internal override void Materialize(FlowRun run, Emitter<TResult> downstream)
        {
            var stage = run.Stage(this, StageOptions.Default);
            var block = factory() ?? throw new InvalidOperationException("The Via block factory returned null.");
            run.AddSegment(async ct =>
            {
                // Stopping the run drops whatever the block still holds, so nothing waits on it.
                using var stop = ct.UnsafeRegister(static s => ((IDataflowBlock)s!).Fault(new OperationCanceledException("The flow stopped.")), block);
                try
                {
                    await BlockPump.PumpAsync(block, stage, downstream, ct).ConfigureAwait(false);
                }
                finally
                {
                    // A block the run faulted (or that failed while the run was stopping) is reported by the run, not by a finalizer.
                    BlockPump.ObserveFault(block);

                    // The stage has stopped only when the block has: fault it if the run ends early (a sink failure can end this segment
                    // before the run's token is cancelled), then wait for the delegates it is still running, so none outlives the run.
                    if (!block.Completion.IsCompleted)
                    {
                        block.Fault(new OperationCanceledException("The flow stopped."));
                    }

                    await block.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            });
            upstream.Materialize(run, new BlockInput(stage, block));
        }

        private sealed class BlockInput(StageContext stage, IPropagatorBlock<T, TResult> block) : Emitter<T>
        {
            public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
            {
                stage.CountIn();
                if (block.Post(item))
                {
                    return default;
                }

                return SendAsync(item, cancellationToken);
            }

            public override ValueTask CompleteAsync(CancellationToken cancellationToken)
            {
                block.Complete();
                return default;
            }

            private async ValueTask SendAsync(T item, CancellationToken cancellationToken)
            {
                if (await block.SendAsync(item, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                // The block declined: it has completed or faulted.
                await block.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (block.Completion.IsFaulted)
                {
                    // The output side reports the fault and stops the run; wait for that instead of reporting it twice.
                    var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    using (cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), stopped))
                    {
                        await stopped.Task.ConfigureAwait(false);
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }

                throw new FlowStageException(stage.Name, item, new InvalidOperationException("The Dataflow block declined an item: it had already completed."));
            }
        }
    }
}
