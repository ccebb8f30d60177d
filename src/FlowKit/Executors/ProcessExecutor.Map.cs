using System.Runtime.CompilerServices;
using System.Text.Json;

using FlowKit.Internal;

namespace FlowKit;

public sealed partial class ProcessExecutor
{
    /// <summary>Runs <paramref name="work"/> on every input in the worker processes and streams the results (<c>Pool.imap</c>,
    /// or <c>imap_unordered</c> when <paramref name="ordered"/> is false). Items travel in chunks of 64 with a bounded number of
    /// chunks in flight; the input is read only as fast as results are taken.</summary>
    /// <param name="work">The registered work.</param>
    /// <param name="inputs">The inputs; enumerated lazily.</param>
    /// <param name="ordered">True: results in input order; false: chunk by chunk as they complete.</param>
    /// <param name="cancellationToken">Cancels the chunks in flight and ends the enumeration.</param>
    /// <returns>The results; the first failure ends the enumeration with that exception after the chunks in flight stop.</returns>
    public IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(ProcessWork<TIn, TOut> work, IEnumerable<TIn> inputs, bool ordered = true, CancellationToken cancellationToken = default) =>
        MapAsync(work, inputs, new ExecutorMapOptions { Ordered = ordered }, cancellationToken);

    /// <summary>Runs <paramref name="work"/> on every input of an asynchronous stream in the worker processes and streams the
    /// results, in chunks of up to 64; a partial chunk is sent as soon as the input does not have its next item ready, and a
    /// result is yielded as soon as it exists (in order: once every earlier one has been).</summary>
    /// <param name="work">The registered work.</param>
    /// <param name="inputs">The inputs; read only as fast as results are taken.</param>
    /// <param name="ordered">True: results in input order; false: chunk by chunk as they complete.</param>
    /// <param name="cancellationToken">Cancels the chunks in flight and ends the enumeration.</param>
    /// <returns>The results; the first failure ends the enumeration with that exception.</returns>
    public IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(ProcessWork<TIn, TOut> work, IAsyncEnumerable<TIn> inputs, bool ordered = true, CancellationToken cancellationToken = default) =>
        MapAsync(work, inputs, new ExecutorMapOptions { Ordered = ordered }, cancellationToken);

    /// <summary>Runs <paramref name="work"/> on every input in the worker processes and streams the results, shaped by
    /// <paramref name="options"/> (chunk size, chunks in flight, ordering).</summary>
    /// <param name="work">The registered work.</param>
    /// <param name="inputs">The inputs; enumerated lazily.</param>
    /// <param name="options">Ordering, chunk size and the bound on chunks in flight.</param>
    /// <param name="cancellationToken">Cancels the chunks in flight and ends the enumeration.</param>
    /// <returns>The results; the first failure ends the enumeration with that exception.</returns>
    public IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(ProcessWork<TIn, TOut> work, IEnumerable<TIn> inputs, ExecutorMapOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return MapAsync(work, ExecutorsMapper.ToAsyncEnumerable(inputs), options, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> on every input of an asynchronous stream in the worker processes and streams the
    /// results, shaped by <paramref name="options"/>.</summary>
    /// <param name="work">The registered work.</param>
    /// <param name="inputs">The inputs; read only as fast as results are taken.</param>
    /// <param name="options">Ordering, chunk size and the bound on chunks in flight.</param>
    /// <param name="cancellationToken">Cancels the chunks in flight and ends the enumeration.</param>
    /// <returns>The results; the first failure ends the enumeration with that exception.</returns>
    /// <exception cref="ObjectDisposedException">The executor has been shut down.</exception>
    public IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(ProcessWork<TIn, TOut> work, IAsyncEnumerable<TIn> inputs, ExecutorMapOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ObjectDisposedException.ThrowIf(_shutdown, this);
        var chunk = options.ChunkSize == 0 ? 64 : options.ChunkSize;
        var inFlight = options.MaxInFlight == 0 ? MaxWorkers * (_inFlightPerWorker + 1) : options.MaxInFlight;
        return Flatten(ExecutorsMapper.MapAsync(
            ExecutorsMapper.Chunk(inputs, chunk),
            (items, ct) => SubmitChunkAsync(work, items, ct),
            options.Ordered,
            inFlight,
            cancellationToken), cancellationToken);
    }

    private static async IAsyncEnumerable<T> Flatten<T>(IAsyncEnumerable<T[]> chunks, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var chunk in chunks.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // Each result is handed over and its slot cleared, so the chunk does not keep results the consumer has moved past.
            for (var i = 0; i < chunk.Length; i++)
            {
                var item = chunk[i];
                chunk[i] = default!;
                yield return item;
                item = default!;
            }
        }
    }

    private Task<TOut[]> SubmitChunkAsync<TIn, TOut>(ProcessWork<TIn, TOut> work, TIn[] items, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TOut[]>(cancellationToken);
        }

        var payloads = new byte[items.Length][];
        try
        {
            for (var i = 0; i < items.Length; i++)
            {
                payloads[i] = JsonSerializer.SerializeToUtf8Bytes(items[i], work.InputType);
            }
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return Task.FromException<TOut[]>(e);
        }

        return SubmitPayloadsAsync(work, payloads, cancellationToken);
    }

    /// <summary>Sends a chunk as one frame, or, when it is larger than the frame limit, as two halves (recursively); a single item
    /// larger than the limit fails the chunk with <see cref="ArgumentException"/> before anything is sent.</summary>
    private Task<TOut[]> SubmitPayloadsAsync<TIn, TOut>(ProcessWork<TIn, TOut> work, byte[][] payloads, CancellationToken cancellationToken)
    {
        var length = ExecutorsFrames.BatchLength(work.NameUtf8.Length, payloads);
        if (length > _maxFrame)
        {
            if (payloads.Length == 1)
            {
                return Task.FromException<TOut[]>(TooLarge(work.Name, length, "inputs"));
            }

            var half = payloads.Length / 2;
            var first = SubmitPayloadsAsync(work, payloads[..half], cancellationToken);
            var second = SubmitPayloadsAsync(work, payloads[half..], cancellationToken);
            return ConcatAsync(first, second);
        }

        var call = new ProcessBatchCall<TOut>(work.NameUtf8, work.Name, payloads, work.OutputType, cancellationToken);
        Enqueue(call);
        return call.Task;
    }

    private static async Task<T[]> ConcatAsync<T>(Task<T[]> first, Task<T[]> second)
    {
        // Both halves are awaited whatever happens, so neither is left unobserved; the first failure (in input order) wins.
        await ((Task)Task.WhenAll(first, second)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return [.. await first.ConfigureAwait(false), .. await second.ConfigureAwait(false)];
    }
}
