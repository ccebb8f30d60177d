using System.Threading.Tasks.Dataflow;

using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Flows;

/// <summary><c>Select</c> with Parallelism = 2, ordered and unordered, against <c>TransformBlock</c> with MaxDegreeOfParallelism = 2 over 200,000 small CPU-bound items.</summary>
[MemoryDiagnoser]
public class FlowParallelBenchmarks
{
    [Params(200_000)]
    public int Items { get; set; }

    [Params(true, false)]
    public bool Ordered { get; set; }

    [Benchmark(Baseline = true)]
    public async Task<long> TransformBlock_Mdop2()
    {
        var block = new TransformBlock<int, int>(Work, new ExecutionDataflowBlockOptions
        {
            MaxDegreeOfParallelism = 2,
            BoundedCapacity = StageOptions.DefaultCapacity,
            EnsureOrdered = Ordered,
            SingleProducerConstrained = true,
        });
        long count = 0;
        var sink = new ActionBlock<int>(_ => count++, new ExecutionDataflowBlockOptions { BoundedCapacity = StageOptions.DefaultCapacity });
        block.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < Items; i++)
        {
            await block.SendAsync(i);
        }

        block.Complete();
        await sink.Completion;
        return count;
    }

    [Benchmark]
    public Task<long> Flow_Select_Parallelism2() =>
        Flow.From(Enumerable.Range(0, Items)).Select(Work, new StageOptions { Parallelism = 2, Ordered = Ordered }).CountAsync();

    private static int Work(int x)
    {
        var h = x;
        for (var i = 0; i < 50; i++)
        {
            h = (h * 31) ^ i;
        }

        return h;
    }
}
