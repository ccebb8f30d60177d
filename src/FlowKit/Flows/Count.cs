using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>Runs the flow and counts its items.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="cancellationToken">Stops every stage; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The number of items the last stage emitted.</returns>
    /// <exception cref="FlowStageException">A stage failed.</exception>
    public static async Task<long> CountAsync<T>(this Flow<T> flow, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        var sink = new CountSink<T>();
        await FlowRun.RunAsync(flow, _ => sink, cancellationToken).ConfigureAwait(false);
        return sink.Count;
    }

    private sealed class CountSink<T> : Emitter<T>
    {
        public long Count { get; private set; }

        public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
        {
            Count++;
            return default;
        }

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => default;
    }
}
