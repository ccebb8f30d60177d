using System.Threading.Channels;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>A flow that reads a channel until it completes (an <c>asyncio.Queue</c> consumer loop); a channel completed with an error fails the flow.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The reader; items a run has read are gone from the channel.</param>
    /// <returns>The flow.</returns>
    /// <example>
    /// <code>
    /// var channel = Channel.CreateBounded&lt;Order&gt;(100);
    /// var processing = Flow.From(channel.Reader).Select(ProcessAsync).ForEachAsync(SaveAsync, ct);
    /// </code>
    /// </example>
    public static Flow<T> From<T>(ChannelReader<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new ChannelSource<T>(source);
    }

    private sealed class ChannelSource<T>(ChannelReader<T> source) : SourceFlow<T>("From(ChannelReader)")
    {
        protected override async Task PumpAsync(StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken)
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await source.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                {
                    throw SourceFailed(stage, ex);
                }

                if (!more)
                {
                    break;
                }

                while (source.TryRead(out var item))
                {
                    stage.CountOut();
                    await downstream.EmitAsync(item, cancellationToken).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
