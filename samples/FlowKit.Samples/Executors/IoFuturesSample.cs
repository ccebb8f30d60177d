using System.Globalization;

namespace FlowKit.Samples.Executors;

/// <summary>Course 24.1, I/O-bound work with futures and threading: blocking socket reads from a slow server, run on a
/// <see cref="ThreadExecutor"/> with <see cref="ThreadExecutor.MapAsync{TIn, TOut}(Func{TIn, TOut}, IEnumerable{TIn}, bool, CancellationToken)"/>
/// (<c>executor.map</c>), so the .NET thread pool is never blocked; compared with the sequential loop.</summary>
public sealed class IoFuturesSample : ISample
{
    public string Name => "io-futures";

    public string Description => "executors: blocking socket reads as futures on dedicated threads (ThreadExecutor.MapAsync)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var requests = context.IntOption("requests", 16);
        var size = context.IntOption("size", 64 * 1024);
        var latency = TimeSpan.FromMilliseconds(context.IntOption("latency-ms", 50));
        var threads = context.IntOption("threads", 16);
        await using var server = new SlowServer(latency, context.Time);
        context.WriteLine(string.Create(CultureInfo.InvariantCulture, $"io-futures: {requests} blocking reads of {size:N0} bytes, server latency {latency.TotalMilliseconds:F0} ms, {threads} threads"));

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
        long total = 0;
        var results = 0;
        await foreach (var bytes in executor.MapAsync(_ => SlowServer.Fetch(server.Port, size), Enumerable.Range(0, requests), cancellationToken: context.CancellationToken))
        {
            total += bytes;
            results++;
        }

        var parallelTime = context.Time.GetElapsedTime(start);
        context.WriteLine($"results in order: {results}");
        SpeedReport.Print(context, "threads", $"{total} bytes", parallelTime);
        SpeedReport.SpeedUp(context, sequentialTime, parallelTime);
        return total == sequential ? 0 : 1;
    }
}
