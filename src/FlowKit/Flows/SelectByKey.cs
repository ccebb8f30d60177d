using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Keyed parallelism (a <c>GroupBy</c> whose groups run side by side): items with the same key are processed one at a time in input
    /// order, items with different keys in parallel, with at most <see cref="StageOptions.Parallelism"/> keys active at once and at most
    /// <see cref="StageOptions.Capacity"/> items waiting across all keys. Results of different keys come out as they complete.
    /// </summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TResult">The output item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="keySelector">The key of an item (an account id, a partition).</param>
    /// <param name="selector">The work for one item.</param>
    /// <param name="options">Active keys (<see cref="StageOptions.Parallelism"/>), buffer and error policy; null for the defaults.</param>
    /// <returns>The flow of results.</returns>
    /// <example>
    /// <code>
    /// orders.SelectByKey(o => o.AccountId, ApplyAsync, new StageOptions { Parallelism = 16 });   // one account's orders stay in order
    /// </code>
    /// </example>
    public static Flow<TResult> SelectByKey<T, TKey, TResult>(
        this Flow<T> flow, Func<T, TKey> keySelector, Func<T, CancellationToken, ValueTask<TResult>> selector, StageOptions? options = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(keySelector);
        ArgumentNullException.ThrowIfNull(selector);
        var copy = StageOptions.ValidatedCopy(options);
        return NamedBy(new SelectByKeyStage<T, TKey, TResult>(flow, keySelector, selector, copy), copy);
    }

    private sealed class SelectByKeyStage<T, TKey, TResult>(
        Flow<T> upstream, Func<T, TKey> keySelector, Func<T, CancellationToken, ValueTask<TResult>> selector, StageOptions options)
        : Flow<TResult>("SelectByKey", upstream)
        where TKey : notnull
    {
        internal override IReadOnlyList<IFlowNode> Inputs => [upstream];

        internal override int? InputCapacity => options.EffectiveCapacity;

        internal override string Details => $"async, {options.Parallelism} active keys";

        internal override void Materialize(FlowRun run, Emitter<TResult> downstream)
        {
            var stage = run.Stage(this, options);
            var capacity = options.EffectiveCapacity;
            var channel = run.CreateBuffer<T>(stage.Name, capacity, singleReader: true, singleWriter: true);
            var state = new KeyedState(stage, new SelectProcessor<T, TResult>(stage, selector), downstream, options.Parallelism, capacity);
            run.AddBuffer(stage.Name + " lanes", capacity, state.Queued);
            run.AddSegment(ct => DispatchAsync(state, channel.Reader, ct));
            upstream.Materialize(run, new BufferEmitter<T>(channel.Writer));
        }

        private async Task DispatchAsync(KeyedState state, System.Threading.Channels.ChannelReader<T> reader, CancellationToken cancellationToken)
        {
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    TKey key;
                    try
                    {
                        key = keySelector(item);
                    }
                    catch (Exception ex)
                    {
                        var (ok, recovered) = await state.Stage.RecoverAsync(item, ex, (x, _) => new ValueTask<TKey>(keySelector(x)), cancellationToken).ConfigureAwait(false);
                        if (!ok)
                        {
                            continue;
                        }

                        key = recovered;
                    }

                    await state.QueueSpace.WaitAsync(cancellationToken).ConfigureAwait(false);
                    lock (state.Lanes)
                    {
                        if (state.Lanes.TryGetValue(key, out var active))
                        {
                            active.Enqueue(item);
                            continue;
                        }
                    }

                    // Only this loop creates lanes, so no lane for the key can appear while it waits for a free one.
                    await state.LaneSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                    var lane = new Queue<T>();
                    lane.Enqueue(item);
                    lock (state.Lanes)
                    {
                        state.Lanes.Add(key, lane);
                    }

                    Interlocked.Increment(ref state.Pending);
                    state.Stage.Run.Nursery.StartSoon(ct => RunLaneAsync(state, key, lane, ct));
                }
            }

            await ExitAsync(state, cancellationToken).ConfigureAwait(false);
        }

        private static async Task RunLaneAsync(KeyedState state, TKey key, Queue<T> lane, CancellationToken cancellationToken)
        {
            while (true)
            {
                T item;
                lock (state.Lanes)
                {
                    if (!lane.TryDequeue(out item!))
                    {
                        state.Lanes.Remove(key);
                        break;
                    }
                }

                state.QueueSpace.Release();
                var (ok, value) = await state.Processor.ProcessAsync(item, cancellationToken).ConfigureAwait(false);
                if (ok)
                {
                    await state.EmitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        await state.Downstream.EmitAsync(value, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                    {
                        // A failure stops the run before the gate opens, so no other lane emits after it.
                        state.Stage.Run.Stop();
                        throw;
                    }
                    finally
                    {
                        state.EmitGate.Release();
                    }
                }
            }

            state.LaneSlots.Release();
            await ExitAsync(state, cancellationToken).ConfigureAwait(false);
        }

        private static ValueTask ExitAsync(KeyedState state, CancellationToken cancellationToken) =>
            Interlocked.Decrement(ref state.Pending) == 0 ? state.Downstream.CompleteAsync(cancellationToken) : default;

        private sealed class KeyedState(StageContext stage, IItemProcessor<T, TResult> processor, Emitter<TResult> downstream, int activeKeys, int capacity)
        {
            public readonly StageContext Stage = stage;
            public readonly IItemProcessor<T, TResult> Processor = processor;
            public readonly Emitter<TResult> Downstream = downstream;
            public readonly Dictionary<TKey, Queue<T>> Lanes = [];
            public readonly SemaphoreSlim LaneSlots = new(activeKeys, activeKeys);
            public readonly SemaphoreSlim QueueSpace = new(capacity, capacity);
            public readonly SemaphoreSlim EmitGate = new(1, 1);
            private readonly int _capacity = capacity;

            // The dispatcher plus every live lane; whoever brings it to zero completes the downstream.
            public int Pending = 1;

            public int Queued() => _capacity - QueueSpace.CurrentCount;
        }
    }
}
