using System.Threading.Channels;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>Runs the flow and writes every item to <paramref name="writer"/> (waiting when it is full); completes the writer at the end,
    /// with the failure when the flow fails.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="writer">The channel to fill.</param>
    /// <param name="cancellationToken">Stops every stage; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when the run has finished.</returns>
    public static async Task ToChannelAsync<T>(this Flow<T> flow, ChannelWriter<T> writer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(writer);
        try
        {
            await FlowRun.RunAsync(flow, _ => new ChannelEmitter<T>(writer), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            writer.TryComplete(ex);
            throw;
        }

        writer.TryComplete();
    }

    /// <summary>Starts the flow as a child of <paramref name="nursery"/> and returns a reader of its items through a bounded channel of
    /// <paramref name="capacity"/>; the nursery owns the run, so it is stopped and awaited with the nursery.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run.</param>
    /// <param name="nursery">The nursery that owns the run; a failure of the flow fails it.</param>
    /// <param name="capacity">The channel's bound: 1 to 1,048,576.</param>
    /// <returns>The reader; it completes when the flow completes.</returns>
    /// <example>
    /// <code>
    /// await Nursery.RunAsync(async n =>
    /// {
    ///     var reader = flow.ToChannel(n, capacity: 100);
    ///     await foreach (var item in reader.ReadAllAsync(n.CancellationToken)) { ... }
    /// });
    /// </code>
    /// </example>
    public static ChannelReader<T> ToChannel<T>(this Flow<T> flow, Nursery nursery, int capacity)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(nursery);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 20);
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { SingleWriter = true });
        nursery.StartSoon(ct => flow.ToChannelAsync(channel.Writer, ct));
        return channel.Reader;
    }
}
