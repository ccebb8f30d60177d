using System.Runtime.CompilerServices;
using System.Threading.Channels;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// Runs the flow while the caller pulls its items with <c>await foreach</c>. The run starts with the enumeration and is owned by it:
    /// breaking out early (or disposing the enumerator) stops every stage and waits for them before <c>DisposeAsync</c> returns; a stage
    /// failure surfaces from <c>MoveNextAsync</c>.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="cancellationToken">Stops the run and the enumeration.</param>
    /// <returns>The items, pulled one by one.</returns>
    /// <example>
    /// <code>
    /// await foreach (var line in Flow.From(lines).Where(IsError).ToAsyncEnumerable(ct))
    /// {
    ///     if (Enough(line)) break;   // stops the flow cleanly
    /// }
    /// </code>
    /// </example>
    public static IAsyncEnumerable<T> ToAsyncEnumerable<T>(this Flow<T> flow, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        return Pull(flow, cancellationToken);
    }

    private static async IAsyncEnumerable<T> Pull<T>(Flow<T> flow, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var started = new RunHandle();
        var run = RunIntoAsync(flow, channel.Writer, started, stop.Token);
        var finished = false;
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }

            finished = true;
        }
        finally
        {
            if (!finished)
            {
                // The consumer left early (break, exception or cancellation): stop every stage and wait for them. A stage failure that
                // was already stopping the run when the consumer left is reported; one that came from the stop itself is not, so that it
                // cannot replace the consumer's own exception (this finally runs while that exception propagates).
                var failedBefore = started.Run is { } r && r.Nursery.IsCancellationRequested && !stop.IsCancellationRequested;
                await stop.CancelAsync().ConfigureAwait(false);
                await run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (failedBefore && run.IsFaulted && run.Exception!.InnerException is not OperationCanceledException)
                {
                    await run.ConfigureAwait(false);
                }
            }
        }

        await run.ConfigureAwait(false);
    }

    private static async Task RunIntoAsync<T>(Flow<T> flow, ChannelWriter<T> writer, RunHandle started, CancellationToken cancellationToken)
    {
        try
        {
            await FlowRun.RunAsync(
                flow,
                run =>
                {
                    started.Run = run;
                    return new ChannelEmitter<T>(writer);
                },
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Completed without an error either way: the reader learns about a failure by awaiting the run, with the original exception.
            writer.TryComplete();
        }
    }

    /// <summary>The run behind a pull, once it has materialized (read by the consumer's early exit).</summary>
    private sealed class RunHandle
    {
        private FlowRun? _run;

        public FlowRun? Run
        {
            get => Volatile.Read(ref _run);
            set => Volatile.Write(ref _run, value);
        }
    }
}
