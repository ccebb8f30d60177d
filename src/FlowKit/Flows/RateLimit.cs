using System.Globalization;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Lets at most <paramref name="items"/> items through per <paramref name="period"/> (a token bucket: bursts up to <paramref name="items"/>,
    /// then one item every <c>period / items</c>). Fused into its upstream: when the bucket is empty the upstream waits, which is the backpressure.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="items">Items per period: 1 to 1,000,000.</param>
    /// <param name="period">The period: more than zero, at most one day.</param>
    /// <param name="timeProvider">The clock; null for <see cref="TimeProvider.System"/>.</param>
    /// <returns>The same items, paced.</returns>
    public static Flow<T> RateLimit<T>(this Flow<T> flow, int items, TimeSpan period, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(items, 1_000_000);
        if (period <= TimeSpan.Zero || period > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "period must be more than zero and at most one day.");
        }

        return new RateLimitStage<T>(flow, items, period, timeProvider ?? TimeProvider.System);
    }

    private sealed class RateLimitStage<T>(Flow<T> upstream, int items, TimeSpan period, TimeProvider time) : Flow<T>("RateLimit", upstream)
    {
        internal override IReadOnlyList<IFlowNode> Inputs => [upstream];

        internal override string Details => string.Create(CultureInfo.InvariantCulture, $"{items} per {period.TotalMilliseconds} ms, fused");

        internal override void Materialize(FlowRun run, Emitter<T> downstream) =>
            upstream.Materialize(run, new Limiter(run.Stage(this, StageOptions.Default), items, period, time, downstream));

        /// <summary>
        /// The token bucket in exact integers: credit is kept in units of 1/<c>burst</c> tick, each elapsed tick adds <c>burst</c> units and
        /// a token costs <c>period.Ticks</c> units, so refills never drift (a double summing ten 0.1s stays below 1) and the bucket holds at
        /// most <c>burst</c> tokens. A wait is rounded up to whole milliseconds, the resolution of <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>,
        /// which completes a shorter delay at once (a wait that rounded down would spin until the clock moved).
        /// </summary>
        private sealed class Limiter(StageContext stage, int burst, TimeSpan period, TimeProvider time, Emitter<T> next) : Emitter<T>
        {
            private readonly long _tokenCost = period.Ticks;
            private readonly long _maxCredit = period.Ticks * burst;
            private long _credit = period.Ticks * burst;
            private long _refilledAt = time.GetTimestamp();

            public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
            {
                stage.CountIn();
                Refill();
                if (_credit >= _tokenCost)
                {
                    _credit -= _tokenCost;
                    stage.CountOut();
                    return next.EmitAsync(item, cancellationToken);
                }

                return WaitThenEmitAsync(item, cancellationToken);
            }

            public override ValueTask CompleteAsync(CancellationToken cancellationToken) => next.CompleteAsync(cancellationToken);

            private void Refill()
            {
                var now = time.GetTimestamp();
                var elapsed = time.GetElapsedTime(_refilledAt, now).Ticks;
                _refilledAt = now;

                // Capped before multiplying: a full period refills the whole bucket, and period.Ticks * burst cannot overflow.
                _credit = Math.Min(_maxCredit, _credit + (Math.Min(Math.Max(elapsed, 0), period.Ticks) * burst));
            }

            private async ValueTask WaitThenEmitAsync(T item, CancellationToken cancellationToken)
            {
                while (_credit < _tokenCost)
                {
                    var ticks = ((_tokenCost - _credit) + burst - 1) / burst;
                    var milliseconds = Math.Max(1, (ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
                    await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), time, cancellationToken).ConfigureAwait(false);
                    Refill();
                }

                _credit -= _tokenCost;
                stage.CountOut();
                await next.EmitAsync(item, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
