using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Executors;

/// <summary>Per-item cost of a trivial item on a <see cref="ThreadExecutor"/> (dedicated threads) beside <c>Task.Run</c> on the
/// thread pool, and of the ordered, bounded <c>MapAsync</c> beside a hand-written ordered window of 32 <c>Task.Run</c> calls.</summary>
[MemoryDiagnoser]
public class ThreadExecutorBenchmarks
{
    private const int Items = 10_000;
    private static readonly Func<int, int> Work = static x => x + 1;
    private ThreadExecutor _executor = null!;
    private int[] _inputs = null!;

    [Params(2, 16)]
    public int Workers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _executor = new ThreadExecutor(Workers);
        _inputs = Enumerable.Range(0, Items).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _executor.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public Task TaskRun()
    {
        var tasks = new Task<int>[Items];
        for (var i = 0; i < tasks.Length; i++)
        {
            var x = i;
            tasks[i] = Task.Run(() => Work(x));
        }

        return Task.WhenAll(tasks);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public Task ThreadExecutor_SubmitAsync()
    {
        var tasks = new Task<int>[Items];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = _executor.SubmitAsync(Work, i);
        }

        return Task.WhenAll(tasks);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task<int> TaskRun_OrderedWindow32()
    {
        var window = new Queue<Task<int>>(32);
        var sum = 0;
        foreach (var x in _inputs)
        {
            if (window.Count == 32)
            {
                sum += await window.Dequeue();
            }

            window.Enqueue(Task.Run(() => Work(x)));
        }

        while (window.Count > 0)
        {
            sum += await window.Dequeue();
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task<int> ThreadExecutor_MapAsync()
    {
        var sum = 0;
        await foreach (var x in _executor.MapAsync(Work, _inputs))
        {
            sum += x;
        }

        return sum;
    }
}
