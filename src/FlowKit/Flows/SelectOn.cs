namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Maps every item on a <see cref="ThreadExecutor"/>'s dedicated threads (for blocking or CPU-heavy code that must not hold thread-pool
    /// threads): a stage with <see cref="StageOptions.Parallelism"/> items submitted at once, in input order unless <see cref="StageOptions.Ordered"/>
    /// is false. The executor is not owned by the flow: dispose it after the run.
    /// </summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TResult">The output item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="executor">The thread pool to run on.</param>
    /// <param name="work">The blocking work; it receives the run's token.</param>
    /// <param name="options">Parallelism, order, buffer and error policy; null for <see cref="ThreadExecutor.MaxWorkers"/> items at once.</param>
    /// <returns>The flow of results.</returns>
    /// <example>
    /// <code>
    /// await using var threads = new ThreadExecutor(4);
    /// var hashes = await Flow.From(files).SelectOn(threads, (path, ct) => HashFile(path)).ToListAsync(ct);
    /// </code>
    /// </example>
    public static Flow<TResult> SelectOn<T, TResult>(this Flow<T> flow, ThreadExecutor executor, Func<T, CancellationToken, TResult> work, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(executor);
        ArgumentNullException.ThrowIfNull(work);
        var copy = StageOptions.ValidatedCopy(options ?? new StageOptions { Parallelism = Math.Min(executor.MaxWorkers, 1024) });
        return NamedBy(new SelectStage<T, TResult>(flow, null, (item, ct) => new ValueTask<TResult>(executor.SubmitAsync(work, item, ct)), copy, "SelectOn(ThreadExecutor)"), copy);
    }

    /// <summary>
    /// Maps every item in a <see cref="ProcessExecutor"/>'s worker processes (Python's <c>ProcessPoolExecutor.map</c> inside a pipeline):
    /// a stage with <see cref="StageOptions.Parallelism"/> items submitted at once. A worker that dies fails its item with
    /// <see cref="WorkerCrashedException"/>, which the stage's <see cref="StageOptions.OnError"/> policy handles like any other failure.
    /// </summary>
    /// <typeparam name="T">The input item type.</typeparam>
    /// <typeparam name="TResult">The output item type.</typeparam>
    /// <param name="flow">The upstream flow.</param>
    /// <param name="executor">The process pool to run on.</param>
    /// <param name="work">The registered work and its JSON contracts.</param>
    /// <param name="options">Parallelism, order, buffer and error policy; null for <see cref="ProcessExecutor.MaxWorkers"/> items at once.</param>
    /// <returns>The flow of results.</returns>
    public static Flow<TResult> SelectOn<T, TResult>(this Flow<T> flow, ProcessExecutor executor, ProcessWork<T, TResult> work, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(executor);
        ArgumentNullException.ThrowIfNull(work);
        var copy = StageOptions.ValidatedCopy(options ?? new StageOptions { Parallelism = Math.Min(executor.MaxWorkers, 1024) });
        return NamedBy(new SelectStage<T, TResult>(flow, null, (item, ct) => new ValueTask<TResult>(executor.SubmitAsync(work, item, ct)), copy, "SelectOn(ProcessExecutor)"), copy);
    }
}
