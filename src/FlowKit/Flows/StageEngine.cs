using System.Threading.Channels;

namespace FlowKit.Flows;

/// <summary>
/// Runs a buffered stage: the bounded channel in front of it and its worker task(s). Parallelism 1 is one loop; unordered parallelism is
/// several loops that emit through an async gate; ordered parallelism adds a reorder window whose size bounds everything in flight.
/// </summary>
internal static class StageEngine
{
    /// <summary>Builds the stage and returns the emitter its upstream must write into.</summary>
    public static Emitter<T> Build<T, TResult>(StageContext stage, IItemProcessor<T, TResult> processor, Emitter<TResult> downstream)
    {
        var options = stage.Options;
        var capacity = options.EffectiveCapacity;
        var run = stage.Run;
        if (options.Parallelism == 1)
        {
            var buffer = run.CreateStageBuffer<T>(stage.Name, capacity);
            run.AddSegment(ct => RunSingleAsync(buffer, processor, downstream, ct));
            return new StageBufferEmitter<T>(buffer);
        }

        if (!options.Ordered)
        {
            var channel = run.CreateBuffer<T>(stage.Name, capacity, singleReader: false, singleWriter: true);
            var shared = new UnorderedState<TResult>(run, downstream, options.Parallelism);
            for (var i = 0; i < options.Parallelism; i++)
            {
                run.AddSegment(ct => RunUnorderedAsync(channel.Reader, processor, shared, ct));
            }

            return new BufferEmitter<T>(channel.Writer);
        }

        var window = new OrderedWindow<T, TResult>(run, capacity + options.Parallelism, downstream, options.Parallelism);
        run.AddBuffer(stage.Name, window.Size, window.InUse);
        for (var i = 0; i < options.Parallelism; i++)
        {
            run.AddSegment(ct => RunOrderedAsync(window, processor, ct));
        }

        return new OrderedInput<T, TResult>(window);
    }

    /// <summary>The loop of a one-worker stage: read the buffer, process, emit, with the next stage's wake-ups batched.</summary>
    internal static async Task RunSingleAsync<T, TResult>(StageBuffer<T> reader, IItemProcessor<T, TResult> processor, Emitter<TResult> downstream, CancellationToken cancellationToken)
    {
        // Wake-ups of the next stage are batched: announce what was held back before every wait that does not complete at once.
        var wakes = new WakeBatcher(downstream.WakeTarget);
        while (true)
        {
            var waiting = reader.WaitToReadAsync();
            if (!waiting.IsCompleted)
            {
                wakes.Flush();
            }

            if (!await waiting.ConfigureAwait(false))
            {
                break;
            }

            while (reader.TryRead(out var item))
            {
                cancellationToken.ThrowIfCancellationRequested();
                wakes.StartItem();

                // Most items complete synchronously (a cached or in-memory step, a downstream buffer with room): skip the awaiters then.
                var processing = processor.ProcessAsync(item, cancellationToken);
                bool ok;
                TResult value;
                if (processing.IsCompletedSuccessfully)
                {
                    (ok, value) = processing.Result;
                }
                else
                {
                    wakes.Flush();
                    (ok, value) = await processing.ConfigureAwait(false);
                }

                if (ok)
                {
                    var emitted = wakes.EmitAsync(downstream, value, cancellationToken);
                    if (!emitted.IsCompletedSuccessfully)
                    {
                        await emitted.ConfigureAwait(false);
                    }
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task RunUnorderedAsync<T, TResult>(ChannelReader<T> reader, IItemProcessor<T, TResult> processor, UnorderedState<TResult> shared, CancellationToken cancellationToken)
    {
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (ok, value) = await processor.ProcessAsync(item, cancellationToken).ConfigureAwait(false);
                if (ok)
                {
                    if (!shared.TryEnterGateSpinning())
                    {
                        await shared.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }

                    try
                    {
                        // A failure stops the run before the gate opens, so no other worker emits after it.
                        cancellationToken.ThrowIfCancellationRequested();
                        await shared.Downstream.EmitAsync(value, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                    {
                        shared.Run.Stop();
                        throw;
                    }
                    finally
                    {
                        shared.Gate.Release();
                    }
                }
            }
        }

        if (Interlocked.Decrement(ref shared.Workers) == 0)
        {
            await shared.Downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task RunOrderedAsync<T, TResult>(OrderedWindow<T, TResult> window, IItemProcessor<T, TResult> processor, CancellationToken cancellationToken)
    {
        var reader = window.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (reader.TryRead(out var entry))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (ok, value) = await processor.ProcessAsync(entry.Item, cancellationToken).ConfigureAwait(false);
                window.Place(entry.Sequence, ok, value);
                await window.DrainAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (Interlocked.Decrement(ref window.Workers) == 0)
        {
            await window.DrainAsync(cancellationToken).ConfigureAwait(false);
            await window.Downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class UnorderedState<TResult>(FlowRun run, Emitter<TResult> downstream, int workers)
    {
        public readonly FlowRun Run = run;
        public readonly SemaphoreSlim Gate = new(1, 1);
        public readonly Emitter<TResult> Downstream = downstream;
        public int Workers = workers;

        /// <summary>Takes the gate without awaiting if it frees within a short spin: a synchronous downstream holds it for a few
        /// nanoseconds, and a contended <c>WaitAsync</c> allocates a task per item.</summary>
        public bool TryEnterGateSpinning()
        {
            var spinner = default(SpinWait);
            while (!Gate.Wait(0))
            {
                if (spinner.NextSpinWillYield)
                {
                    return false;
                }

                spinner.SpinOnce();
            }

            return true;
        }
    }
}
