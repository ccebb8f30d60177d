using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Executors;

/// <summary>Per-item cost of a trivial item through a 2-worker <see cref="ProcessExecutor"/>: one by one with
/// <c>SubmitAsync</c> (all outstanding, like Python's <c>executor.submit</c> in a loop) and batched by <c>MapAsync</c>
/// (like <c>Pool.imap_unordered</c> with a chunk size). There is no BCL process pool to set beside it; the references
/// are Python (99 µs per submit, 1.3 µs per item with chunksize 100) and a hand-written .NET frame echo (15-22 µs).</summary>
[MemoryDiagnoser]
public class ProcessExecutorBenchmarks
{
    private const int Items = 10_000;
    private ProcessExecutor _pool = null!;
    private int[] _inputs = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new ProcessExecutor(2, BenchmarkWork.Options());
        _inputs = Enumerable.Range(0, Items).ToArray();
        Task.WhenAll(Enumerable.Range(0, 100).Select(i => _pool.SubmitAsync(BenchmarkWork.Identity, i))).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _pool.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public Task SubmitAsync_OneByOne()
    {
        var tasks = new Task<int>[Items];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = _pool.SubmitAsync(BenchmarkWork.Identity, i);
        }

        return Task.WhenAll(tasks);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task<int> MapAsync_Chunked()
    {
        var sum = 0;
        await foreach (var x in _pool.MapAsync(BenchmarkWork.Identity, _inputs, ordered: false))
        {
            sum += x;
        }

        return sum;
    }
}
