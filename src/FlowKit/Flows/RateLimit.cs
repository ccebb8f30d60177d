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

        private sealed class Limiter(StageContext stage, int burst, TimeSpan period, TimeProvider time, Emitter<T> next) : Emitter<T>
        {
            private readonly double _ticksPerToken = (double)period.Ticks / burst;
            private double _tokens = burst;
            private long _refilledAt = time.GetTimestamp();

            public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
            {
                stage.CountIn();
                Refill();
                if (_tokens >= 1)
                {
                    _tokens--;
                    stage.CountOut();
                    return next.EmitAsync(item, cancellationToken);
                }

                return WaitThenEmitAsync(item, cancellationToken);
            }

            public override ValueTask CompleteAsync(CancellationToken cancellationToken) => next.CompleteAsync(cancellationToken);

            private void Refill()
            {
                var now = time.GetTimestamp();
                var elapsed = time.GetElapsedTime(_refilledAt, now);
                _refilledAt = now;
                _tokens = Math.Min(burst, _tokens + (elapsed.Ticks / _ticksPerToken));
            }

            private async ValueTask WaitThenEmitAsync(T item, CancellationToken cancellationToken)
            {
                while (_tokens < 1)
                {
                    var wait = TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling((1 - _tokens) * _ticksPerToken)));
                    await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
                    Refill();
                }

                _tokens--;
                stage.CountOut();
                await next.EmitAsync(item, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
