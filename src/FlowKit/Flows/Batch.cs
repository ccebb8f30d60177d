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
            // One timer per run, armed when a batch has to wait for more items. When it fires it counts the fire and wakes the reader, which
            // looks at the clock: a late tick from an earlier batch is a harmless spurious wake, and a tick that comes a little before its
            // instant (the system timer may fire a fraction of a millisecond early) is seen as spent, so the timer is armed again for what
            // is left instead of leaving the batch waiting for items that may never come. The buffer is owned by the run, so stopping the
            // run ends the wait with an OperationCanceledException.
            var alarm = new BatchAlarm(reader);
            using var timer = time.CreateTimer(static s => ((BatchAlarm)s!).Fire(), alarm, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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
                var armedAt = -1;
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

                    // Armed for this batch and not fired since: it is still pending. Otherwise (not armed yet, or it fired before the
                    // deadline) arm it for what is left. Never assume that a fire means the deadline has come.
                    // Rounded up to whole milliseconds, the system timer's unit: it truncates, and would fire a sub-millisecond wait at once.
                    var fires = alarm.Fires;
                    if (armedAt != fires)
                    {
                        timer.Change(TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds)), Timeout.InfiniteTimeSpan);
                        armedAt = fires;
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

        /// <summary>The timer's state: counts fires (so the reader knows whether its timer is still pending) and wakes the reader.</summary>
        private sealed class BatchAlarm(StageBuffer<T> reader)
        {
            private int _fires;

            public int Fires => Volatile.Read(ref _fires);

            public void Fire()
            {
                Interlocked.Increment(ref _fires);
                reader.WakeReader();
            }
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
