using System.Globalization;
using System.Threading.Tasks.Dataflow;

namespace FlowKit.Samples.Executors;

/// <summary>Course 24.1, CPU-bound work with queues and multiprocessing: a producer posts ranges into a bounded Dataflow block
/// that runs on worker processes (<see cref="ProcessExecutor.AsBlock"/>), linked to a consumer block that adds up the counts.</summary>
public sealed class CpuQueueSample : ISample
{
    public string Name => "cpu-queue";

    public string Description => "executors: CPU-bound queue of work on worker processes (ProcessExecutor.AsBlock in a Dataflow mesh)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var limit = context.IntOption("limit", 3_000_000);
        var workers = context.IntOption("workers", Environment.ProcessorCount);
        var ranges = PrimeRange.Split(limit, context.IntOption("ranges", 32));
        context.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu-queue: primes below {limit:N0} in {ranges.Length} ranges, {workers} worker processes"));

        var start = context.Time.GetTimestamp();
        var sequential = ranges.Sum(Primes.CountInRange);
        var sequentialTime = context.Time.GetElapsedTime(start);
        SpeedReport.Print(context, "sequential", $"{sequential} primes", sequentialTime);

        await using var pool = new ProcessExecutor(workers, SampleWork.Options(context));
        // Start the workers and let their JIT compile the hot loop, as the sequential run did in this process.
        await Task.WhenAll(Enumerable.Range(0, 2 * workers).Select(_ => pool.SubmitAsync(SampleWork.CountPrimes, new PrimeRange(0, 200_000), context.CancellationToken)));
        start = context.Time.GetTimestamp();
        var count = pool.AsBlock(SampleWork.CountPrimes, new ExecutorBlockOptions { Capacity = 2 * workers, Ordered = false });
        var total = 0;
        var received = 0;
        var sum = new ActionBlock<int>(n =>
        {
            total += n;
            received++;
        });
        count.LinkTo(sum, new DataflowLinkOptions { PropagateCompletion = true });
        foreach (var range in ranges)
        {
            await count.SendAsync(range, context.CancellationToken);   // waits while the queue is full: backpressure
        }

        count.Complete();
        await sum.Completion;
        var parallelTime = context.Time.GetElapsedTime(start);
        context.WriteLine($"consumed results: {received}");
        SpeedReport.Print(context, "processes", $"{total} primes", parallelTime);
        SpeedReport.SpeedUp(context, sequentialTime, parallelTime);
        return total == sequential ? 0 : 1;
    }
}
