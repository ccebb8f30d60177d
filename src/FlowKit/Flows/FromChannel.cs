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
            // Wake-ups of the next stage are batched; announced before every wait for the channel that does not complete at once.
            var wakes = new WakeBatcher(downstream.WakeTarget);
            while (true)
            {
                bool more;
                try
                {
                    var waiting = source.WaitToReadAsync(cancellationToken);
                    if (!waiting.IsCompleted)
                    {
                        wakes.Flush();
                    }

                    more = await waiting.ConfigureAwait(false);
                }
                catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                {
                    throw SourceFailed(stage, ex);
                }

                if (!more)
                {
                    break;
                }

                while (true)
                {
                    wakes.StartItem();
                    if (!source.TryRead(out var item))
                    {
                        break;
                    }

                    if (stage.MetricsOn)
                    {
                        stage.CountOut();
                    }

                    var emitted = wakes.EmitAsync(downstream, item, cancellationToken);
                    if (!emitted.IsCompletedSuccessfully)
                    {
                        await emitted.ConfigureAwait(false);
                    }
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
