using System.Globalization;

namespace FlowKit.Samples.Executors;

/// <summary>Course 24.1, CPU-bound work with futures and multiprocessing: count primes in ranges with
/// <see cref="ProcessExecutor.SubmitAsync"/>, one future per range, taken as they complete (<c>as_completed</c> is
/// <see cref="Task.WhenEach{TResult}(Task{TResult}[])"/>); compared with the sequential loop.</summary>
public sealed class CpuFuturesSample : ISample
{
    public string Name => "cpu-futures";

    public string Description => "executors: CPU-bound futures on worker processes (ProcessExecutor.SubmitAsync + Task.WhenEach)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var limit = context.IntOption("limit", 3_000_000);
        var workers = context.IntOption("workers", Environment.ProcessorCount);
        var ranges = PrimeRange.Split(limit, context.IntOption("ranges", 16));
        context.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu-futures: primes below {limit:N0} in {ranges.Length} ranges, {workers} worker processes"));

        var start = context.Time.GetTimestamp();
        var sequential = ranges.Sum(Primes.CountInRange);
        var sequentialTime = context.Time.GetElapsedTime(start);
        SpeedReport.Print(context, "sequential", $"{sequential} primes", sequentialTime);

        await using var pool = new ProcessExecutor(workers, SampleWork.Options(context));
        // Start the workers and let their JIT compile the hot loop, as the sequential run did in this process.
        await Task.WhenAll(Enumerable.Range(0, 2 * workers).Select(_ => pool.SubmitAsync(SampleWork.CountPrimes, new PrimeRange(0, 200_000), context.CancellationToken)));
        start = context.Time.GetTimestamp();
        var futures = ranges.Select(r => pool.SubmitAsync(SampleWork.CountPrimes, r, context.CancellationToken)).ToArray();
        var total = 0;
        var done = 0;
        await foreach (var future in Task.WhenEach(futures).WithCancellation(context.CancellationToken))
        {
            total += await future;
            done++;
        }

        var parallelTime = context.Time.GetElapsedTime(start);
        context.WriteLine($"completed futures: {done}");
        SpeedReport.Print(context, "processes", $"{total} primes", parallelTime);
        SpeedReport.SpeedUp(context, sequentialTime, parallelTime);
        return total == sequential ? 0 : 1;
    }
}
