using System.Globalization;
using System.Threading.Tasks.Dataflow;

namespace FlowKit.Samples.Executors;

/// <summary>Course 24.1, I/O-bound work with queues and threading: a producer posts requests into a bounded Dataflow block whose
/// blocking socket reads run on a <see cref="ThreadExecutor"/> (<see cref="ThreadExecutor.AsBlock"/>), linked to a consumer.</summary>
public sealed class IoQueueSample : ISample
{
    public string Name => "io-queue";

    public string Description => "executors: queue of blocking socket reads on dedicated threads (ThreadExecutor.AsBlock in a Dataflow mesh)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var requests = context.IntOption("requests", 32);
        var size = context.IntOption("size", 64 * 1024);
        var latency = TimeSpan.FromMilliseconds(context.IntOption("latency-ms", 50));
        var threads = context.IntOption("threads", 16);
        await using var server = new SlowServer(latency, context.Time);
        context.WriteLine(string.Create(CultureInfo.InvariantCulture, $"io-queue: {requests} blocking reads of {size:N0} bytes, server latency {latency.TotalMilliseconds:F0} ms, {threads} threads"));

        var start = context.Time.GetTimestamp();
        long sequential = 0;
        for (var i = 0; i < requests; i++)
        {
            sequential += SlowServer.Fetch(server.Port, size);
        }

        var sequentialTime = context.Time.GetElapsedTime(start);
        SpeedReport.Print(context, "sequential", $"{sequential} bytes", sequentialTime);

        await using var executor = new ThreadExecutor(threads);
        start = context.Time.GetTimestamp();
        var fetch = executor.AsBlock((int _) => SlowServer.Fetch(server.Port, size), new ExecutorBlockOptions { Ordered = false });
        long total = 0;
        var consumed = 0;
        var sink = new ActionBlock<int>(bytes =>
        {
            total += bytes;
            consumed++;
        });
        fetch.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < requests; i++)
        {
            await fetch.SendAsync(i, context.CancellationToken);
        }

        fetch.Complete();
        await sink.Completion;
        var parallelTime = context.Time.GetElapsedTime(start);
        context.WriteLine($"consumed results: {consumed}");
        SpeedReport.Print(context, "threads", $"{total} bytes", parallelTime);
        SpeedReport.SpeedUp(context, sequentialTime, parallelTime);
        return total == sequential ? 0 : 1;
    }
}
