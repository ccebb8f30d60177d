using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>Keeps the items that satisfy a synchronous predicate; fused into its upstream with the default options.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="predicate">True to keep the item.</param>
    /// <param name="options">Parallelism, order, buffer and error policy; null for the defaults.</param>
    /// <returns>The filtered flow.</returns>
    public static Flow<T> Where<T>(this Flow<T> flow, Func<T, bool> predicate, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(predicate);
        var copy = StageOptions.ValidatedCopy(options);
        return NamedBy(new WhereStage<T>(flow, predicate, null, copy), copy);
    }

    /// <summary>Keeps the items that satisfy an asynchronous predicate, on its own task(s) behind a bounded buffer.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="predicate">True to keep the item; it receives the run's token.</param>
    /// <param name="options">Parallelism, order, buffer and error policy; null for the defaults.</param>
    /// <returns>The filtered flow.</returns>
    public static Flow<T> Where<T>(this Flow<T> flow, Func<T, CancellationToken, ValueTask<bool>> predicate, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(predicate);
        var copy = StageOptions.ValidatedCopy(options);
        return NamedBy(new WhereStage<T>(flow, null, predicate, copy), copy);
    }

    private sealed class WhereStage<T>(Flow<T> upstream, Func<T, bool>? sync, Func<T, CancellationToken, ValueTask<bool>>? async, StageOptions options)
        : Flow<T>("Where", upstream)
    {
        private bool Fused => sync is not null && options.CanFuse;

        internal override IReadOnlyList<IFlowNode> Inputs => [upstream];

        internal override int? InputCapacity => Fused ? null : options.EffectiveCapacity;

        internal override string Details => StageDetails.Of(options, Fused, async is not null);

        internal override void Materialize(FlowRun run, Emitter<T> downstream)
        {
            var stage = run.Stage(this, options);
            if (Fused)
            {
                upstream.Materialize(run, new FusedWhere(stage, sync!, downstream));
                return;
            }

            var predicate = async ?? ((item, _) => new ValueTask<bool>(sync!(item)));
            upstream.Materialize(run, StageEngine.Build(stage, new Processor(stage, predicate), downstream));
        }

        private sealed class FusedWhere(StageContext stage, Func<T, bool> predicate, Emitter<T> next) : Emitter<T>
        {
            public override DeferredWakeTarget? WakeTarget => next.WakeTarget;

            public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
            {
                var metrics = stage.MetricsOn;
                if (metrics)
                {
                    stage.CountIn();
                }

                bool keep;
                try
                {
                    keep = predicate(item);
                }
                catch (Exception ex)
                {
                    return RecoverAsync(item, ex, cancellationToken);
                }

                if (!keep)
                {
                    return default;
                }

                if (metrics)
                {
                    stage.CountOut();
                }

                return next.EmitAsync(item, cancellationToken);
            }

            public override ValueTask CompleteAsync(CancellationToken cancellationToken) => next.CompleteAsync(cancellationToken);

            private async ValueTask RecoverAsync(T item, Exception error, CancellationToken cancellationToken)
            {
                var (ok, keep) = await stage.RecoverAsync(item, error, (x, _) => new ValueTask<bool>(predicate(x)), cancellationToken).ConfigureAwait(false);
                if (ok && keep)
                {
                    stage.CountOut();
                    await next.EmitAsync(item, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private sealed class Processor(StageContext stage, Func<T, CancellationToken, ValueTask<bool>> predicate) : IItemProcessor<T, T>
        {
            public async ValueTask<(bool Ok, T Value)> ProcessAsync(T item, CancellationToken cancellationToken)
            {
                stage.CountIn();
                var started = stage.StartTiming();
                bool keep;
                try
                {
                    keep = await predicate(item, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    var (ok, value) = await stage.RecoverAsync(item, ex, predicate, cancellationToken).ConfigureAwait(false);
                    keep = ok && value;
                }

                stage.StopTiming(started);
                if (keep)
                {
                    stage.CountOut();
                }

                return (keep, item);
            }
        }
    }
}
