using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Structured;

/// <summary>10,000 trivial children in a nursery against Task.WhenAll over 10,000 Task.Run calls (the raw BCL pattern it replaces).</summary>
[MemoryDiagnoser]
public class NurseryBenchmarks
{
    private static readonly Func<CancellationToken, Task> TrivialChild = static _ => Task.CompletedTask;
    private static readonly Func<Task> TrivialTask = static () => Task.CompletedTask;

    [Params(10_000)]
    public int Children { get; set; }

    [Benchmark(Baseline = true)]
    public Task TaskRun_WhenAll()
    {
        var tasks = new Task[Children];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = Task.Run(TrivialTask);
        }

        return Task.WhenAll(tasks);
    }

    [Benchmark]
    public Task Nursery_StartSoon() => Nursery.RunAsync(n =>
    {
        for (var i = 0; i < Children; i++)
        {
            n.StartSoon(TrivialChild);
        }

        return Task.CompletedTask;
    });
}
