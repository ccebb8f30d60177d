using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Executors;

/// <summary>CPU-bound throughput with 1 and 2 worker processes (goal: 2 workers at least 1.8x one), beside the same items run
/// sequentially in this process.</summary>
[MemoryDiagnoser]
public class ProcessExecutorScalingBenchmarks
{
    private const int Items = 16;
    private const int Below = 60_000;
    private ProcessExecutor _one = null!;
    private ProcessExecutor _two = null!;

    [GlobalSetup]
    public void Setup()
    {
        _one = new ProcessExecutor(1, BenchmarkWork.Options());
        _two = new ProcessExecutor(2, BenchmarkWork.Options());
        RunAsync(_one).GetAwaiter().GetResult();
        RunAsync(_two).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _one.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _two.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public int Sequential_InProcess()
    {
        var total = 0;
        for (var i = 0; i < Items; i++)
        {
            total += BenchmarkWork.Primes(Below);
        }

        return total;
    }

    [Benchmark]
    public Task<int[]> OneWorker() => RunAsync(_one);

    [Benchmark]
    public Task<int[]> TwoWorkers() => RunAsync(_two);

    private static Task<int[]> RunAsync(ProcessExecutor pool) =>
        Task.WhenAll(Enumerable.Range(0, Items).Select(_ => pool.SubmitAsync(BenchmarkWork.CountPrimes, Below)));
}
