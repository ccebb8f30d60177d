using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Expands every item into a synchronous sequence and emits its elements in order; fused into its upstream with the default options. If
    /// the selector or the sequence throws, the error policy applies to the item; a retry re-runs the selector and emits only the elements
    /// after those already emitted.
    /// </summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TResult">The element type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="selector">The expansion.</param>
    /// <param name="options">Buffer and error policy (parallelism must be 1); null for the defaults.</param>
    /// <returns>The flow of elements.</returns>
    public static Flow<TResult> SelectMany<T, TResult>(this Flow<T> flow, Func<T, IEnumerable<TResult>> selector, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(selector);
        var copy = SingleWorker(options);
        return NamedBy(new SelectManyStage<T, TResult>(flow, (item, _) => selector(item).ToAsyncEnumerable(), copy, fused: copy.CanFuse, sync: selector), copy);
    }

    /// <summary>
    /// Expands every item into an async sequence and emits its elements in order, on its own task behind a bounded buffer. Errors follow the
    /// stage's error policy like <see cref="SelectMany{T, TResult}(Flow{T}, Func{T, IEnumerable{TResult}}, StageOptions?)"/>.
    /// </summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TResult">The element type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="selector">The expansion; it receives the run's token.</param>
    /// <param name="options">Buffer and error policy (parallelism must be 1); null for the defaults.</param>
    /// <returns>The flow of elements.</returns>
    public static Flow<TResult> SelectMany<T, TResult>(this Flow<T> flow, Func<T, CancellationToken, IAsyncEnumerable<TResult>> selector, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(selector);
        var copy = SingleWorker(options);
        return NamedBy(new SelectManyStage<T, TResult>(flow, selector, copy, fused: false, sync: null), copy);
    }

    private static StageOptions SingleWorker(StageOptions? options)
    {
        var copy = StageOptions.ValidatedCopy(options);
        if (copy.Parallelism != 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), copy.Parallelism, "options.Parallelism must be 1 for SelectMany: its elements keep their order.");
        }

        return copy;
    }

    private sealed class SelectManyStage<T, TResult>(
        Flow<T> upstream, Func<T, CancellationToken, IAsyncEnumerable<TResult>> selector, StageOptions options, bool fused, Func<T, IEnumerable<TResult>>? sync)
        : Flow<TResult>("SelectMany", upstream)
    {
        internal override IReadOnlyList<IFlowNode> Inputs => [upstream];

        internal override int? InputCapacity => fused ? null : options.EffectiveCapacity;

        internal override string Details => StageDetails.Of(options, fused, sync is null);

        internal override void Materialize(FlowRun run, Emitter<TResult> downstream)
        {
            var stage = run.Stage(this, options);
            var expander = new Expander(stage, selector, sync, downstream);
            if (fused)
            {
                upstream.Materialize(run, expander);
                return;
            }

            var channel = run.CreateBuffer<T>(stage.Name, options.EffectiveCapacity, singleReader: true, singleWriter: true);
            run.AddSegment(async ct =>
            {
                while (await channel.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    while (channel.Reader.TryRead(out var item))
                    {
                        ct.ThrowIfCancellationRequested();
                        await expander.EmitAsync(item, ct).ConfigureAwait(false);
                    }
                }

                await expander.CompleteAsync(ct).ConfigureAwait(false);
            });
            upstream.Materialize(run, new BufferEmitter<T>(channel.Writer));
        }

        private sealed class Expander(
            StageContext stage, Func<T, CancellationToken, IAsyncEnumerable<TResult>> selector, Func<T, IEnumerable<TResult>>? sync, Emitter<TResult> next) : Emitter<T>
        {
            public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
            {
                if (sync is null)
                {
                    return ExpandAsync(item, cancellationToken);
                }

                stage.CountIn();
                var emitted = 0;
                IEnumerator<TResult> e;
                try
                {
                    e = sync(item).GetEnumerator();
                }
                catch (Exception ex)
                {
                    return RecoverAsync(item, ex, emitted, cancellationToken);
                }

                // Fast path: stays synchronous while the downstream does, so a fused expansion costs no allocation per element.
                while (true)
                {
                    TResult element;
                    try
                    {
                        if (!e.MoveNext())
                        {
                            e.Dispose();
                            return default;
                        }

                        element = e.Current;
                    }
                    catch (Exception ex)
                    {
                        e.Dispose();
                        return RecoverAsync(item, ex, emitted, cancellationToken);
                    }

                    emitted++;
                    stage.CountOut();
                    var pending = next.EmitAsync(element, cancellationToken);
                    if (!pending.IsCompletedSuccessfully)
                    {
                        return ContinueAsync(item, emitted, pending, e, cancellationToken);
                    }

                    pending.GetAwaiter().GetResult();
                }
            }

            public override ValueTask CompleteAsync(CancellationToken cancellationToken) => next.CompleteAsync(cancellationToken);

            private async ValueTask ContinueAsync(T item, int emitted, ValueTask pending, IEnumerator<TResult> e, CancellationToken cancellationToken)
            {
                using (e)
                {
                    await pending.ConfigureAwait(false);
                    while (true)
                    {
                        TResult element;
                        try
                        {
                            if (!e.MoveNext())
                            {
                                return;
                            }

                            element = e.Current;
                        }
                        catch (Exception ex)
                        {
                            await RecoverAsync(item, ex, emitted, cancellationToken).ConfigureAwait(false);
                            return;
                        }

                        emitted++;
                        stage.CountOut();
                        await next.EmitAsync(element, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            private async ValueTask ExpandAsync(T item, CancellationToken cancellationToken)
            {
                stage.CountIn();
                var emitted = 0;
                try
                {
                    await foreach (var element in selector(item, cancellationToken).ConfigureAwait(false))
                    {
                        emitted++;
                        stage.CountOut();
                        await next.EmitAsync(element, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not FlowStageException)
                {
                    await RecoverAsync(item, ex, emitted, cancellationToken).ConfigureAwait(false);
                }
            }

            private async ValueTask RecoverAsync(T item, Exception error, int emitted, CancellationToken cancellationToken)
            {
                var (ok, rest) = await stage.RecoverAsync(
                    item,
                    error,
                    async (x, ct) =>
                    {
                        var all = new List<TResult>();
                        await foreach (var element in selector(x, ct).ConfigureAwait(false))
                        {
                            all.Add(element);
                        }

                        return all;
                    },
                    cancellationToken).ConfigureAwait(false);
                if (!ok)
                {
                    return;
                }

                for (var i = emitted; i < rest.Count; i++)
                {
                    stage.CountOut();
                    await next.EmitAsync(rest[i], cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
