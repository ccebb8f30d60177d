using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>A flow over a synchronous sequence (a Python generator), read once per run on the source's task.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The sequence; enumerated again by every run.</param>
    /// <returns>The flow.</returns>
    /// <example>
    /// <code>
    /// var squares = await Flow.From(Enumerable.Range(1, 10)).Select(x => x * x).ToListAsync();
    /// </code>
    /// </example>
    public static Flow<T> From<T>(IEnumerable<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new EnumerableSource<T>(source);
    }

    private sealed class EnumerableSource<T>(IEnumerable<T> source) : SourceFlow<T>("From(IEnumerable)")
    {
        protected override async Task PumpAsync(StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken)
        {
            IEnumerator<T> e;
            try
            {
                e = source.GetEnumerator();
            }
            catch (Exception ex)
            {
                throw SourceFailed(stage, ex);
            }

            // Wake-ups of the next stage are batched only for an in-memory collection: any other sequence may block in MoveNext (a file, a
            // socket read), and items held back for a batch would wait for the next one to arrive.
            var wakes = new WakeBatcher(source is IReadOnlyCollection<T> or ICollection<T> ? downstream.WakeTarget : null);
            using (e)
            {
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    wakes.StartItem();
                    T item;
                    try
                    {
                        if (!e.MoveNext())
                        {
                            break;
                        }

                        item = e.Current;
                    }
                    catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                    {
                        throw SourceFailed(stage, ex);
                    }

                    if (stage.MetricsOn)
                    {
                        stage.CountOut();
                    }

                    // A fused chain completes synchronously: skip the awaiter when there is nothing to wait for.
                    var emitted = wakes.EmitAsync(downstream, item, cancellationToken);
                    if (!emitted.IsCompletedSuccessfully)
                    {
                        await emitted.ConfigureAwait(false);
                    }
                }
            }

            await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
