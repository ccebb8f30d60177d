using System.Threading.Tasks.Dataflow;

namespace FlowKit.Flows;

/// <summary>Moves items out of a Dataflow source block into an emitter, then surfaces the block's fault.</summary>
internal static class BlockPump
{
    /// <summary>Marks the block's eventual fault as observed: the flow reports the failure itself.</summary>
    public static void ObserveFault(IDataflowBlock block) =>
        block.Completion.ContinueWith(
            static t => _ = t.Exception,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    public static async Task PumpAsync<T>(ISourceBlock<T> source, StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken)
    {
        var receivable = source as IReceivableSourceBlock<T>;
        while (true)
        {
            bool available;
            try
            {
                available = await source.OutputAvailableAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
            {
                throw new FlowStageException(stage.Name, null, ex);
            }

            if (!available)
            {
                break;
            }

            if (receivable is not null)
            {
                while (receivable.TryReceive(null, out var item))
                {
                    stage.CountOut();
                    await downstream.EmitAsync(item, cancellationToken).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
            else
            {
                T item;
                try
                {
                    item = await source.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidOperationException)
                {
                    // Another consumer took the item, or the block completed meanwhile: look again.
                    continue;
                }

                stage.CountOut();
                await downstream.EmitAsync(item, cancellationToken).ConfigureAwait(false);
            }
        }

        try
        {
            await source.Completion.ConfigureAwait(false);
        }
        catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
        {
            throw new FlowStageException(stage.Name, null, ex);
        }

        await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }
}
