using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace FlowKit.Internal;

/// <summary>The shared <c>MapAsync</c> engine of the executors: a bounded window of submitted items, results in order or as they
/// complete, and no item left running when the enumeration ends.</summary>
internal static class ExecutorsMapper
{
    public static async IAsyncEnumerable<T> ToAsyncEnumerable<T>(IEnumerable<T> source)
    {
        foreach (var item in source)
        {
            yield return item;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public static async IAsyncEnumerable<T[]> Chunk<T>(IAsyncEnumerable<T> source, int size, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var buffer = new List<T>(size);
        await foreach (var item in source.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            buffer.Add(item);
            if (buffer.Count == size)
            {
                yield return buffer.ToArray();
                buffer.Clear();
            }
        }

        if (buffer.Count > 0)
        {
            yield return buffer.ToArray();
        }
    }

    public static async IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(
        IAsyncEnumerable<TIn> inputs,
        Func<TIn, CancellationToken, Task<TOut>> submit,
        bool ordered,
        int maxInFlight,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var window = new List<Task<TOut>>(maxInFlight);
        var head = 0;
        var completed = ordered ? null : Channel.CreateUnbounded<Task<TOut>>(new UnboundedChannelOptions { SingleReader = true });
        var enumerator = inputs.GetAsyncEnumerator(cts.Token);
        try
        {
            var more = true;
            var outstanding = 0;
            // Refill in bursts (when half the window has been consumed) rather than one item per result: a single refill would
            // wake a parked worker for every item and run the pipeline in lock-step.
            var refillAt = maxInFlight / 2;
            while (true)
            {
                if (outstanding <= refillAt)
                {
                    while (more && outstanding < maxInFlight)
                    {
                        if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                        {
                            more = false;
                            break;
                        }

                        var task = submit(enumerator.Current, cts.Token);
                        window.Add(task);
                        outstanding++;
                        if (completed is not null)
                        {
                            _ = task.ContinueWith(
                                static (t, s) => ((Channel<Task<TOut>>)s!).Writer.TryWrite((Task<TOut>)t),
                                completed,
                                CancellationToken.None,
                                TaskContinuationOptions.ExecuteSynchronously,
                                TaskScheduler.Default);
                        }
                    }
                }

                if (outstanding == 0)
                {
                    break;
                }

                Task<TOut> next;
                if (completed is null)
                {
                    next = window[head];
                    window[head++] = null!;
                    if (head > 1024 && head * 2 > window.Count)
                    {
                        window.RemoveRange(0, head);
                        head = 0;
                    }
                }
                else
                {
                    next = await completed.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    window.Remove(next);
                }

                outstanding--;
                yield return await next.ConfigureAwait(false);
            }
        }
        finally
        {
            // Structured: the items still in flight are cancelled and awaited before the enumeration ends.
            await cts.CancelAsync().ConfigureAwait(false);
            var remaining = window.Where(static t => t is not null).ToArray();
            if (remaining.Length > 0)
            {
                await Task.WhenAll((IEnumerable<Task>)remaining).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }
}
