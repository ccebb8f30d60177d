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
            // The one-worker stage loop with a pass-through step: the same lock-free buffer and batched wake-ups as an async Select.
            var stage = run.Stage(this, StageOptions.Default);
            var buffer = run.CreateStageBuffer<T>(stage.Name, capacity);
            run.AddSegment(ct => StageEngine.RunSingleAsync(buffer, PassThrough<T>.Instance, downstream, ct));
            upstream.Materialize(run, new StageBufferEmitter<T>(buffer));
        }
    }
}
