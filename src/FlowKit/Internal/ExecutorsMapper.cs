using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace FlowKit.Internal;

/// <summary>The shared <c>MapAsync</c> engine of the executors: a bounded window of submitted items, results in order or as they
/// complete, and no item left running when the enumeration ends. It never waits for the input while a result is ready to be
/// yielded: reading the next input and waiting for the next result race, so an input that pauses (for the consumer, a network,
/// a clock) cannot hold back results that already exist.</summary>
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

    /// <summary>Groups the input into chunks of up to <paramref name="size"/> items. A partial chunk is yielded as soon as the input
    /// does not have its next item ready (its <c>MoveNextAsync</c> does not complete synchronously), so items never wait in a
    /// half-filled chunk for an input that has paused; an input that is always ready gives full chunks.</summary>
    public static async IAsyncEnumerable<T[]> Chunk<T>(IAsyncEnumerable<T> source, int size, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var buffer = new List<T>(Math.Min(size, 1024));
        var enumerator = source.GetAsyncEnumerator(cancellationToken);
        Task<bool>? pending = null;
        try
        {
            while (true)
            {
                var move = enumerator.MoveNextAsync();
                bool moved;
                if (!move.IsCompleted && buffer.Count > 0)
                {
                    // Flush what we have before waiting; the pending move is awaited once the chunk has been taken.
                    pending = move.AsTask();
                    var partial = buffer.ToArray();
                    buffer.Clear();
                    yield return partial;
                    var resumed = pending;
                    pending = null;
                    moved = await resumed.ConfigureAwait(false);
                }
                else
                {
                    moved = await move.ConfigureAwait(false);
                }

                if (!moved)
                {
                    break;
                }

                buffer.Add(enumerator.Current);
                if (buffer.Count == size)
                {
                    var full = buffer.ToArray();
                    buffer.Clear();
                    yield return full;
                }
            }

            if (buffer.Count > 0)
            {
                yield return buffer.ToArray();
            }
        }
        finally
        {
            // Ended while the input's next item was still pending (the consumer stopped after a partial chunk): the input may
            // not be disposed under a running MoveNextAsync, and it sees the consumer's cancellation through its token.
            if (pending is not null)
            {
                await ((Task)pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await enumerator.DisposeAsync().ConfigureAwait(false);
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
        var window = new List<Task<TOut>>(Math.Min(maxInFlight, 1024));
        var head = 0;
        var completed = ordered ? null : Channel.CreateUnbounded<Task<TOut>>(new UnboundedChannelOptions { SingleReader = true });
        var enumerator = inputs.GetAsyncEnumerator(cts.Token);
        Task<bool>? pendingMove = null;
        Task<bool>? pendingRead = null;
        try
        {
            var more = true;
            var outstanding = 0;

            // Refill in bursts (when half the window has been consumed) rather than one item per result: a single refill would
            // wake a parked worker for every item and run the pipeline in lock-step. The burst stops at the first input that is
            // not ready at once; that read stays pending and races the results below.
            var refillAt = maxInFlight / 2;
            while (true)
            {
                if (pendingMove is { IsCompleted: true })
                {
                    var moved = await pendingMove.ConfigureAwait(false);
                    pendingMove = null;
                    if (moved)
                    {
                        Submit(enumerator.Current);
                    }
                    else
                    {
                        more = false;
                    }
                }

                if (outstanding <= refillAt)
                {
                    while (more && pendingMove is null && outstanding < maxInFlight)
                    {
                        var move = enumerator.MoveNextAsync();
                        if (!move.IsCompleted)
                        {
                            pendingMove = move.AsTask();
                            break;
                        }

                        if (!await move.ConfigureAwait(false))
                        {
                            more = false;
                            break;
                        }

                        Submit(enumerator.Current);
                    }
                }

                if (outstanding == 0)
                {
                    if (pendingMove is null)
                    {
                        break;
                    }

                    // Nothing to yield: only the input can make progress.
                    await ((Task)pendingMove).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue;
                }

                Task<TOut> next;
                if (completed is null)
                {
                    next = window[head];
                    if (!next.IsCompleted && pendingMove is not null)
                    {
                        await Task.WhenAny(next, pendingMove).ConfigureAwait(false);
                        if (!next.IsCompleted)
                        {
                            continue;
                        }
                    }

                    window[head++] = null!;
                    if (head > 1024 && head * 2 > window.Count)
                    {
                        window.RemoveRange(0, head);
                        head = 0;
                    }
                }
                else
                {
                    if (!completed.Reader.TryRead(out next!))
                    {
                        pendingRead ??= completed.Reader.WaitToReadAsync(cts.Token).AsTask();
                        if (pendingMove is not null)
                        {
                            await Task.WhenAny(pendingRead, pendingMove).ConfigureAwait(false);
                        }
                        else
                        {
                            await ((Task)pendingRead).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        }

                        if (pendingRead.IsCompleted)
                        {
                            var readable = pendingRead;
                            pendingRead = null;
                            await readable.ConfigureAwait(false);
                        }

                        continue;
                    }

                    window.Remove(next);
                }

                outstanding--;
                var result = await next.ConfigureAwait(false);

                // Neither the task nor the value may stay in the iterator's fields once the consumer has moved on.
                next = null!;
                yield return result;
                result = default!;
            }

            void Submit(TIn item)
            {
                var task = submit(item, cts.Token);
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
        finally
        {
            // Structured: the items still in flight are cancelled and awaited before the enumeration ends, and so is a read of
            // the input still pending (it sees the cancellation through the enumerator's token), before the input is disposed.
            await cts.CancelAsync().ConfigureAwait(false);
            var remaining = window.Where(static t => t is not null).ToArray();
            if (remaining.Length > 0)
            {
                await Task.WhenAll((IEnumerable<Task>)remaining).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (pendingMove is not null)
            {
                await ((Task)pendingMove).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (pendingRead is not null)
            {
                await ((Task)pendingRead).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }
}
