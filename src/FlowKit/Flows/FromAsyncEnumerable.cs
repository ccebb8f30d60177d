using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>A flow over an async sequence (a Python async generator); the run's token is passed to its enumerator.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The async sequence; enumerated again by every run.</param>
    /// <returns>The flow.</returns>
    /// <example>
    /// <code>
    /// await Flow.From(File.ReadLinesAsync("app.log")).Where(l => l.Contains("ERROR")).ForEachAsync(Console.WriteLine);
    /// </code>
    /// </example>
    public static Flow<T> From<T>(IAsyncEnumerable<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new AsyncEnumerableSource<T>(source);
    }

    private sealed class AsyncEnumerableSource<T>(IAsyncEnumerable<T> source) : SourceFlow<T>("From(IAsyncEnumerable)")
    {
        protected override async Task PumpAsync(StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken)
        {
            IAsyncEnumerator<T> e;
            try
            {
                e = source.GetAsyncEnumerator(cancellationToken);
            }
            catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
            {
                throw SourceFailed(stage, ex);
            }

            // Wake-ups of the next stage are batched; announced before every MoveNextAsync that does not complete at once.
            var wakes = new WakeBatcher(downstream.WakeTarget);
            await using (e.ConfigureAwait(false))
            {
                while (true)
                {
                    bool more;
                    wakes.StartItem();
                    try
                    {
                        var moving = e.MoveNextAsync();
                        if (!moving.IsCompleted)
                        {
                            wakes.Flush();
                        }

                        more = await moving.ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                    {
                        throw SourceFailed(stage, ex);
                    }

                    if (!more)
                    {
                        break;
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    if (stage.MetricsOn)
                    {
                        stage.CountOut();
                    }

                    var emitted = wakes.EmitAsync(downstream, e.Current, cancellationToken);
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
