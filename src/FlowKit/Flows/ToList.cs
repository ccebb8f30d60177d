using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>Runs the flow and collects every item, in the order the last stage emits them.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="cancellationToken">Stops every stage; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The items.</returns>
    /// <exception cref="FlowStageException">A stage failed.</exception>
    public static async Task<List<T>> ToListAsync<T>(this Flow<T> flow, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        var sink = new ListSink<T>();
        await FlowRun.RunAsync(flow, _ => sink, cancellationToken).ConfigureAwait(false);
        return sink.Items;
    }

    private sealed class ListSink<T> : Emitter<T>
    {
        public List<T> Items { get; } = [];

        public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
        {
            Items.Add(item);
            return default;
        }

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => default;
    }
}
