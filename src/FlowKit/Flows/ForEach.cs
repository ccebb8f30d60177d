using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>Runs the flow and calls <paramref name="action"/> for every item, one at a time, in order; returns when the last item has been
    /// handled and every stage has stopped.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="action">The work per item; if it throws, the flow fails with a <see cref="FlowStageException"/>.</param>
    /// <param name="cancellationToken">Stops every stage; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when the run has finished.</returns>
    /// <exception cref="FlowStageException">A stage (or <paramref name="action"/>) failed.</exception>
    /// <example>
    /// <code>
    /// await Flow.From(urls).Select(FetchAsync, new StageOptions { Parallelism = 4 }).ForEachAsync(async (page, ct) => await SaveAsync(page, ct), ct);
    /// </code>
    /// </example>
    public static Task ForEachAsync<T>(this Flow<T> flow, Func<T, CancellationToken, ValueTask> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(action);
        return FlowRun.RunAsync(flow, run => new AsyncActionSink<T>(run.Sink(flow, "ForEach"), action), cancellationToken);
    }

    /// <summary>Runs the flow and calls a synchronous <paramref name="action"/> for every item, in order.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="action">The work per item; if it throws, the flow fails with a <see cref="FlowStageException"/>.</param>
    /// <param name="cancellationToken">Stops every stage; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when the run has finished.</returns>
    public static Task ForEachAsync<T>(this Flow<T> flow, Action<T> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(action);
        return FlowRun.RunAsync(flow, run => new ActionSink<T>(run.Sink(flow, "ForEach"), action), cancellationToken);
    }

    /// <summary>Runs the flow and calls <paramref name="action"/> for every item as a stage with its own options: several items at once
    /// (<see cref="StageOptions.Parallelism"/>), and an error policy such as retry with backoff or a dead letter.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="action">The work per item.</param>
    /// <param name="options">Parallelism, buffer and error policy for the action.</param>
    /// <param name="cancellationToken">Stops every stage; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when the run has finished.</returns>
    public static Task ForEachAsync<T>(this Flow<T> flow, Func<T, CancellationToken, ValueTask> action, StageOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(action);
        var copy = StageOptions.ValidatedCopy(options);
        var stage = flow.Select<T, bool>(
            async (item, ct) =>
            {
                await action(item, ct).ConfigureAwait(false);
                return true;
            },
            copy);
        return FlowRun.RunAsync(copy.Name is { } name ? stage.Named(name) : stage.Named("ForEach#" + (flow.Depth + 1)), _ => DiscardSink<bool>.Instance, cancellationToken);
    }

    private sealed class AsyncActionSink<T>(StageContext stage, Func<T, CancellationToken, ValueTask> action) : Emitter<T>
    {
        public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
        {
            stage.CountIn();
            ValueTask pending;
            try
            {
                pending = action(item, cancellationToken);
            }
            catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
            {
                throw new FlowStageException(stage.Name, item, ex);
            }

            return pending.IsCompletedSuccessfully ? default : AwaitAsync(pending, item, cancellationToken);
        }

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => default;

        private async ValueTask AwaitAsync(ValueTask pending, T item, CancellationToken cancellationToken)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
            {
                throw new FlowStageException(stage.Name, item, ex);
            }
        }
    }

    private sealed class ActionSink<T>(StageContext stage, Action<T> action) : Emitter<T>
    {
        public override ValueTask EmitAsync(T item, CancellationToken cancellationToken)
        {
            stage.CountIn();
            try
            {
                action(item);
            }
            catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
            {
                throw new FlowStageException(stage.Name, item, ex);
            }

            return default;
        }

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => default;
    }

    private sealed class DiscardSink<T> : Emitter<T>
    {
        public static readonly DiscardSink<T> Instance = new();

        public override ValueTask EmitAsync(T item, CancellationToken cancellationToken) => default;

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => default;
    }
}
