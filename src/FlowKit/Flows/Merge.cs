using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Interleaves several flows into one, as items arrive. Unlike linking Dataflow blocks, the merge completes only when <em>all</em> inputs
    /// have completed, and a failure in any input fails the whole flow (and stops the other inputs).
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flows">The inputs: at least one; every one runs in the same nursery.</param>
    /// <returns>The merged flow.</returns>
    /// <example>
    /// <code>
    /// var all = Flow.Merge(Flow.From(primary.Reader), Flow.From(replica.Reader));
    /// </code>
    /// </example>
    public static Flow<T> Merge<T>(params Flow<T>[] flows)
    {
        ArgumentNullException.ThrowIfNull(flows);
        ArgumentOutOfRangeException.ThrowIfZero(flows.Length);
        for (var i = 0; i < flows.Length; i++)
        {
            if (flows[i] is null)
            {
                throw new ArgumentNullException(nameof(flows), $"flows[{i}] is null.");
            }
        }

        return new MergeStage<T>([.. flows], StageOptions.DefaultCapacity);
    }

    /// <summary>Merges this flow with <paramref name="others"/>; see <see cref="Merge{T}(Flow{T}[])"/>.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The first input.</param>
    /// <param name="others">The other inputs.</param>
    /// <returns>The merged flow.</returns>
    public static Flow<T> Merge<T>(this Flow<T> flow, params Flow<T>[] others)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(others);
        return Merge([flow, .. others]);
    }

    private sealed class MergeStage<T>(Flow<T>[] inputs, int capacity) : Flow<T>("Merge", inputs)
    {
        internal override IReadOnlyList<IFlowNode> Inputs => inputs;

        internal override int? InputCapacity => capacity;

        internal override string Details => $"{inputs.Length} inputs, completes when all complete";

        internal override void Materialize(FlowRun run, Emitter<T> downstream)
        {
            var stage = run.Stage(this, StageOptions.Default);
            var channel = run.CreateBuffer<T>(stage.Name, capacity, singleReader: true, singleWriter: false);
            var reader = channel.Reader;
            run.AddSegment(async ct =>
            {
                while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    while (reader.TryRead(out var item))
                    {
                        ct.ThrowIfCancellationRequested();
                        stage.CountOut();
                        await downstream.EmitAsync(item, ct).ConfigureAwait(false);
                    }

                    ct.ThrowIfCancellationRequested();
                }

                await downstream.CompleteAsync(ct).ConfigureAwait(false);
            });
            var open = new StrongBox(inputs.Length);
            foreach (var input in inputs)
            {
                input.Materialize(run, new MergeInput(stage, channel.Writer, open));
            }
        }

        private sealed class StrongBox(int value)
        {
            public int Value = value;
        }

        private sealed class MergeInput(StageContext stage, System.Threading.Channels.ChannelWriter<T> writer, StrongBox open) : Emitter<T>
        {
            public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
            {
                stage.CountIn();
                return writer.TryWrite(item) ? default : writer.WriteAsync(item, CancellationToken.None);
            }

            public override ValueTask CompleteAsync(CancellationToken cancellationToken)
            {
                if (Interlocked.Decrement(ref open.Value) == 0)
                {
                    writer.TryComplete();
                }

                return default;
            }
        }
    }
}
