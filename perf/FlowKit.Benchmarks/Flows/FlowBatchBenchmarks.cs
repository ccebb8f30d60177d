using System.Threading.Tasks.Dataflow;

using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Flows;

/// <summary>Batches of 100 over 1,000,000 ints: <c>BatchBlock</c> (baseline) against <c>Flow.Batch</c> by size (fused) and by size or time (buffered, with a timer).</summary>
[MemoryDiagnoser]
public class FlowBatchBenchmarks
{
    [Params(1_000_000)]
    public int Items { get; set; }

    [Benchmark(Baseline = true)]
    public async Task<long> BatchBlock_100()
    {
        var batch = new BatchBlock<int>(100, new GroupingDataflowBlockOptions { BoundedCapacity = 1000 });
        long count = 0;
        var sink = new ActionBlock<int[]>(b => count += b.Length, new ExecutionDataflowBlockOptions { BoundedCapacity = 16 });
        batch.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < Items; i++)
        {
            await batch.SendAsync(i);
        }

        batch.Complete();
        await sink.Completion;
        return count;
    }

    [Benchmark]
    public async Task<long> Flow_Batch_100()
    {
        long count = 0;
        await Flow.From(Enumerable.Range(0, Items)).Batch(100).ForEachAsync(b => count += b.Length);
        return count;
    }

    [Benchmark]
    public async Task<long> Flow_Batch_100_Or_200ms()
    {
        long count = 0;
        await Flow.From(Enumerable.Range(0, Items)).Batch(100, TimeSpan.FromMilliseconds(200)).ForEachAsync(b => count += b.Length);
        return count;
    }
}
