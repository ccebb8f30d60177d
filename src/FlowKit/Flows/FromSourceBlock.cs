using System.Threading.Tasks.Dataflow;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>A flow that receives from a Dataflow source block until it completes; a faulted block fails the flow.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The block; a run takes the items it receives.</param>
    /// <returns>The flow.</returns>
    /// <example>
    /// <code>
    /// var buffer = new BufferBlock&lt;int&gt;();
    /// var doubled = Flow.From(buffer).Select(x => x * 2);
    /// </code>
    /// </example>
    public static Flow<T> From<T>(ISourceBlock<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new SourceBlockSource<T>(source);
    }

    private sealed class SourceBlockSource<T>(ISourceBlock<T> source) : SourceFlow<T>("From(ISourceBlock)")
    {
        protected override Task PumpAsync(StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken) =>
            BlockPump.PumpAsync(source, stage, downstream, cancellationToken);
    }
}
