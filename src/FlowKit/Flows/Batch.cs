using System.Globalization;
using System.Threading.Channels;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Groups items into arrays of <paramref name="size"/> (Python's <c>itertools.batched</c>). With <paramref name="maxDelay"/>, a batch is also
    /// emitted once that much time has passed since its first item, whichever comes first; the last partial batch is emitted at completion.
    /// Without a delay the stage is fused into its upstream.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="size">Items per full batch: 1 to 1,048,576.</param>
    /// <param name="maxDelay">The longest a batch waits after its first item: more than zero, at most one day; null for none.</param>
    /// <param name="timeProvider">The clock for <paramref name="maxDelay"/>; null for <see cref="TimeProvider.System"/>.</param>
    /// <returns>The flow of batches.</returns>
    /// <example>
    /// <code>
    /// await flow.Batch(500, TimeSpan.FromMilliseconds(200)).ForEachAsync(SaveBatchAsync, ct);
    /// </code>
    /// </example>
    public static Flow<T[]> Batch<T>(this Flow<T> flow, int size, TimeSpan? maxDelay = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 1 << 20);
        if (maxDelay is { } delay && (delay <= TimeSpan.Zero || delay > TimeSpan.FromDays(1)))
        {
            throw new ArgumentOutOfRangeException(nameof(maxDelay), delay, "maxDelay must be null or more than zero and at most one day.");
        }

        return new BatchStage<T>(flow, size, maxDelay, timeProvider ?? TimeProvider.System);
    }

    private sealed class BatchStage<T>(Flow<T> upstream, int size, TimeSpan? maxDelay, TimeProvider time) : Flow<T[]>("Batch", upstream)
    {
        internal override IReadOnlyList<IFlowNode> Inputs => [upstream];

        internal override int? InputCapacity => maxDelay is null ? null : size;

        internal override string Details => maxDelay is { } delay
            ? string.Create(CultureInfo.InvariantCulture, $"size {size}, max delay {delay.TotalMilliseconds} ms")
            : string.Create(CultureInfo.InvariantCulture, $"size {size}, fused");

        internal override void Materialize(FlowRun run, Emitter<T[]> downstream)
        {
            var stage = run.Stage(this, StageOptions.Default);
            if (maxDelay is not { } delay)
            {
                upstream.Materialize(run, new FusedBatch(stage, size, downstream));
                return;
            }

            var buffer = run.CreateStageBuffer<T>(stage.Name, size);
            run.AddSegment(ct => RunTimedAsync(stage, buffer, delay, downstream, ct));
            upstream.Materialize(run, new StageBufferEmitter<T>(buffer));
        }

        private async Task RunTimedAsync(StageContext stage, StageBuffer<T> reader, TimeSpan delay, Emitter<T[]> downstream, CancellationToken cancellationToken)
        {
            // One timer per run, armed only when a batch has to wait for more items. When it fires it just wakes the reader, which looks at
            // the clock: a late tick from an earlier batch is a harmless spurious wake. The buffer is owned by the run, so stopping the run
            // ends the wait with an OperationCanceledException.
            using var timer = time.CreateTimer(static s => ((StageBuffer<T>)s!).WakeReader(), reader, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                if (!reader.TryRead(out var first))
                {
                    continue;
                }

                stage.CountIn();
                var started = time.GetTimestamp();
                var batch = new T[size];
                batch[0] = first;
                var count = 1;
                var completed = false;
                var armed = false;
                while (count < size)
                {
                    if (reader.TryRead(out var item))
                    {
                        stage.CountIn();
                        batch[count++] = item;
                        continue;
                    }

                    var remaining = delay - time.GetElapsedTime(started);
                    if (remaining <= TimeSpan.Zero)
                    {
                        // maxDelay has passed since the batch's first item.
                        break;
                    }

                    if (!armed)
                    {
                        timer.Change(remaining, Timeout.InfiniteTimeSpan);
                        armed = true;
                    }

                    // Wake for the rest of the batch, the deadline or the end, not for every item.
                    if (!await reader.WaitToReadAsync(size - count).ConfigureAwait(false))
                    {
                        completed = true;
                        break;
                    }
                }

                if (count < size)
                {
                    Array.Resize(ref batch, count);
                }

                cancellationToken.ThrowIfCancellationRequested();
                stage.CountOut();
                await downstream.EmitAsync(batch, cancellationToken).ConfigureAwait(false);
                if (completed)
                {
                    break;
                }
            }

            await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        private sealed class FusedBatch(StageContext stage, int size, Emitter<T[]> next) : Emitter<T>
        {
            private T[] _batch = new T[size];
            private int _count;

            public override DeferredWakeTarget? WakeTarget => next.WakeTarget;

            public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
            {
                if (stage.MetricsOn)
                {
                    stage.CountIn();
                }

                _batch[_count++] = item;
                if (_count < size)
                {
                    return default;
                }

                var full = _batch;
                _batch = new T[size];
                _count = 0;
                stage.CountOut();
                return next.EmitAsync(full, cancellationToken);
            }

            public override async ValueTask CompleteAsync(CancellationToken cancellationToken)
            {
                if (_count > 0)
                {
                    var last = _batch;
                    Array.Resize(ref last, _count);
                    _count = 0;
                    stage.CountOut();
                    await next.EmitAsync(last, cancellationToken).ConfigureAwait(false);
                }

                await next.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
