using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Maps every item with a synchronous function. With the default options the stage is fused into its upstream (no buffer, no task hop);
    /// with <see cref="StageOptions.Parallelism"/> above 1 or a <see cref="StageOptions.Capacity"/> it runs on its own task(s) behind a bounded buffer.
    /// </summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TResult">The output item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="selector">The mapping.</param>
    /// <param name="options">Parallelism, order, buffer and error policy; null for the defaults.</param>
    /// <returns>The flow of results.</returns>
    public static Flow<TResult> Select<T, TResult>(this Flow<T> flow, Func<T, TResult> selector, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(selector);
        var copy = StageOptions.ValidatedCopy(options);
        return NamedBy(new SelectStage<T, TResult>(flow, selector, null, copy), copy);
    }

    /// <summary>
    /// Maps every item with an asynchronous function on its own task(s) behind a bounded buffer; with <see cref="StageOptions.Parallelism"/>
    /// above 1, several items are mapped at once and emitted in input order (or as they complete when <see cref="StageOptions.Ordered"/> is false).
    /// </summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TResult">The output item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="selector">The mapping; it receives the run's token.</param>
    /// <param name="options">Parallelism, order, buffer and error policy; null for the defaults.</param>
    /// <returns>The flow of results.</returns>
    /// <example>
    /// <code>
    /// flow.Select(async (url, ct) => await http.GetStringAsync(url, ct), new StageOptions { Parallelism = 8, Ordered = false });
    /// </code>
    /// </example>
    public static Flow<TResult> Select<T, TResult>(this Flow<T> flow, Func<T, CancellationToken, ValueTask<TResult>> selector, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(selector);
        var copy = StageOptions.ValidatedCopy(options);
        return NamedBy(new SelectStage<T, TResult>(flow, null, selector, copy), copy);
    }

    private sealed class SelectStage<T, TResult>(
        Flow<T> upstream, Func<T, TResult>? sync, Func<T, CancellationToken, ValueTask<TResult>>? async, StageOptions options, string kind = "Select")
        : Flow<TResult>(kind, upstream)
    {
        private bool Fused => sync is not null && options.CanFuse;

        internal override IReadOnlyList<IFlowNode> Inputs => [upstream];

        internal override int? InputCapacity => Fused ? null : options.EffectiveCapacity;

        internal override string Details => StageDetails.Of(options, Fused, async is not null);

        internal override void Materialize(FlowRun run, Emitter<TResult> downstream)
        {
            var stage = run.Stage(this, options);
            if (Fused)
            {
                upstream.Materialize(run, new FusedSelect(stage, sync!, downstream));
                return;
            }

            var selector = async ?? ((item, _) => new ValueTask<TResult>(sync!(item)));
            upstream.Materialize(run, StageEngine.Build(stage, new SelectProcessor<T, TResult>(stage, selector), downstream));
        }

        private sealed class FusedSelect(StageContext stage, Func<T, TResult> selector, Emitter<TResult> next) : Emitter<T>
        {
            public override DeferredWakeTarget? WakeTarget => next.WakeTarget;

            public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
            {
                var metrics = stage.MetricsOn;
                long started = 0;
                if (metrics)
                {
                    stage.CountIn();
                    started = stage.StartTiming();
                }

                TResult result;
                try
                {
                    result = selector(item);
                }
                catch (Exception ex)
                {
                    return RecoverAsync(item, ex, cancellationToken);
                }

                if (metrics)
                {
                    stage.StopTiming(started);
                    stage.CountOut();
                }

                return next.EmitAsync(result, cancellationToken);
            }

            public override ValueTask CompleteAsync(CancellationToken cancellationToken) => next.CompleteAsync(cancellationToken);

            private async ValueTask RecoverAsync(T item, Exception error, CancellationToken cancellationToken)
            {
                var (ok, result) = await stage.RecoverAsync(item, error, (x, _) => new ValueTask<TResult>(selector(x)), cancellationToken).ConfigureAwait(false);
                if (ok)
                {
                    stage.CountOut();
                    await next.EmitAsync(result, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
