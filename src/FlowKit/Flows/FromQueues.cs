using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// A flow that drains an <see cref="AsyncQueue{T}"/> (an <c>asyncio.Queue</c> consumer) until the queue is shut down and empty. Each item
    /// is marked done (<see cref="AsyncQueue{T}.TaskDone"/>) once the flow has taken it over (emitted into its first buffer or fused stages),
    /// so a producer's <c>JoinAsync</c> returns when the flow has everything.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="queue">The queue; shut it down to end the flow.</param>
    /// <returns>The flow.</returns>
    /// <example>
    /// <code>
    /// var queue = new AsyncQueue&lt;Job&gt;(maxSize: 100);
    /// var workers = Flow.From(queue).Select(RunAsync, new StageOptions { Parallelism = 4 }).CountAsync(ct);
    /// </code>
    /// </example>
    public static Flow<T> From<T>(AsyncQueue<T> queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return new AsyncQueueSource<T>(queue);
    }

    /// <summary>A flow over the receive side of a <see cref="MemoryChannel"/> (Trio's <c>async for x in receive_channel</c>); it ends when
    /// every clone of the send side has been disposed.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="channel">The receive side; items a run has received are gone from the channel.</param>
    /// <returns>The flow.</returns>
    public static Flow<T> From<T>(ReceiveChannel<T> channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return new ReceiveChannelSource<T>(channel);
    }

    private sealed class AsyncQueueSource<T>(AsyncQueue<T> queue) : SourceFlow<T>("From(AsyncQueue)")
    {
        protected override async Task PumpAsync(StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken)
        {
            while (true)
            {
                T item;
                try
                {
                    item = await queue.GetAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (QueueShutDownException)
                {
                    break;
                }
                catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                {
                    throw SourceFailed(stage, ex);
                }

                stage.CountOut();
                try
                {
                    await downstream.EmitAsync(item, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    queue.TaskDone();
                }
            }

            await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class ReceiveChannelSource<T>(ReceiveChannel<T> channel) : SourceFlow<T>("From(ReceiveChannel)")
    {
        protected override async Task PumpAsync(StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken)
        {
            while (true)
            {
                T item;
                try
                {
                    item = await channel.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (EndOfChannelException)
                {
                    break;
                }
                catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                {
                    throw SourceFailed(stage, ex);
                }

                stage.CountOut();
                await downstream.EmitAsync(item, cancellationToken).ConfigureAwait(false);
            }

            await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
