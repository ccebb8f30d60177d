using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>Decouples the upstream from the downstream with a bounded buffer of <paramref name="capacity"/> items and a task hop: the upstream
    /// runs ahead by up to that many items, then waits.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="capacity">The buffer: 1 to 1,048,576 items.</param>
    /// <returns>The same items, buffered.</returns>
    public static Flow<T> Buffer<T>(this Flow<T> flow, int capacity)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 20);
        return new BufferStage<T>(flow, capacity);
    }

    private sealed class BufferStage<T>(Flow<T> upstream, int capacity) : Flow<T>("Buffer", upstream)
    {
        internal override IReadOnlyList<IFlowNode> Inputs => [upstream];

        internal override int? InputCapacity => capacity;

        internal override void Materialize(FlowRun run, Emitter<T> downstream)
        {
            var stage = run.Stage(this, StageOptions.Default);
            var channel = run.CreateBuffer<T>(stage.Name, capacity, singleReader: true, singleWriter: true);
            var reader = channel.Reader;
            run.AddSegment(async ct =>
            {
                while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    while (reader.TryRead(out var item))
                    {
                        ct.ThrowIfCancellationRequested();
                        await downstream.EmitAsync(item, ct).ConfigureAwait(false);
                    }

                    ct.ThrowIfCancellationRequested();
                }

                await downstream.CompleteAsync(ct).ConfigureAwait(false);
            });
            upstream.Materialize(run, new BufferEmitter<T>(channel.Writer));
        }
    }
}
