using FlowKit.Internal;

namespace FlowKit;

public sealed partial class ThreadExecutor
{
    /// <summary>Runs <paramref name="work"/> on every input and streams the results (<c>executor.map</c>), in input order or as
    /// they complete, with at most <c>max(2 × MaxWorkers, 32)</c> items in flight; the input is read only as fast as results are taken.</summary>
    /// <param name="work">Blocking code run once per input.</param>
    /// <param name="inputs">The inputs; enumerated lazily on the consumer's side.</param>
    /// <param name="ordered">True: results in input order (<c>map</c>); false: as they complete (<c>as_completed</c>).</param>
    /// <param name="cancellationToken">Cancels the items in flight and ends the enumeration.</param>
    /// <returns>The results; the first failure ends the enumeration with that exception after the items in flight stop.</returns>
    public IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(Func<TIn, TOut> work, IEnumerable<TIn> inputs, bool ordered = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return MapAsync((x, _) => work(x), inputs, new ExecutorMapOptions { Ordered = ordered }, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> on every input of an asynchronous stream and streams the results, in order or as
    /// they complete, with at most <c>max(2 × MaxWorkers, 32)</c> items in flight. A result is yielded as soon as it exists (in
    /// order: once every earlier one has been), even while the input is waiting for its next item.</summary>
    /// <param name="work">Blocking code run once per input.</param>
    /// <param name="inputs">The inputs; read only as fast as results are taken.</param>
    /// <param name="ordered">True: results in input order; false: as they complete.</param>
    /// <param name="cancellationToken">Cancels the items in flight and ends the enumeration.</param>
    /// <returns>The results; the first failure ends the enumeration with that exception.</returns>
    public IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(Func<TIn, TOut> work, IAsyncEnumerable<TIn> inputs, bool ordered = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return MapAsync((x, _) => work(x), inputs, new ExecutorMapOptions { Ordered = ordered }, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> on every input and streams the results, shaped by <paramref name="options"/>.</summary>
    /// <param name="work">Blocking code run once per input; it sees the enumeration's cancellation.</param>
    /// <param name="inputs">The inputs; enumerated lazily.</param>
    /// <param name="options">Ordering and the bound on items in flight.</param>
    /// <param name="cancellationToken">Cancels the items in flight and ends the enumeration.</param>
    /// <returns>The results; the first failure ends the enumeration with that exception.</returns>
    public IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(Func<TIn, CancellationToken, TOut> work, IEnumerable<TIn> inputs, ExecutorMapOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return MapAsync(work, ExecutorsMapper.ToAsyncEnumerable(inputs), options, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> on every input of an asynchronous stream and streams the results, shaped by
    /// <paramref name="options"/>.</summary>
    /// <param name="work">Blocking code run once per input; it sees the enumeration's cancellation.</param>
    /// <param name="inputs">The inputs; read only as fast as results are taken.</param>
    /// <param name="options">Ordering and the bound on items in flight.</param>
    /// <param name="cancellationToken">Cancels the items in flight and ends the enumeration.</param>
    /// <returns>The results; the first failure ends the enumeration with that exception.</returns>
    /// <exception cref="ObjectDisposedException">The executor has been shut down.</exception>
    public IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(Func<TIn, CancellationToken, TOut> work, IAsyncEnumerable<TIn> inputs, ExecutorMapOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ObjectDisposedException.ThrowIf(IsShutdown, this);
        var inFlight = options.MaxInFlight == 0 ? Math.Max(2 * MaxWorkers, 32) : options.MaxInFlight;
        return ExecutorsMapper.MapAsync(inputs, (x, ct) => SubmitAsync(work, x, ct), options.Ordered, inFlight, cancellationToken);
    }
}
