using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;

using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Flows;

/// <summary>
/// A 3-stage <c>x + 1</c> pipeline over 1,000,000 ints: hand-written bounded Channels (baseline), linked bounded Dataflow blocks fed with
/// SendAsync, a FlowKit flow of synchronous stages (fused into one loop), and a FlowKit flow of async stages (each on its own task behind a buffer).
/// </summary>
[MemoryDiagnoser]
public class FlowPipelineBenchmarks
{
    private const int Capacity = StageOptions.DefaultCapacity;
    private static readonly Func<int, CancellationToken, ValueTask<int>> AddOneAsync = static (x, _) => new ValueTask<int>(x + 1);

    [Params(1_000_000)]
    public int Items { get; set; }

    [Benchmark(Baseline = true)]
    public async Task<long> Channels_ThreeStages()
    {
        var options = new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true };
        var c0 = Channel.CreateBounded<int>(options);
        var c1 = Channel.CreateBounded<int>(options);
        var c2 = Channel.CreateBounded<int>(options);
        var c3 = Channel.CreateBounded<int>(options);
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await c0.Writer.WriteAsync(i);
            }

            c0.Writer.Complete();
        });
        var s1 = Task.Run(() => StageAsync(c0.Reader, c1.Writer));
        var s2 = Task.Run(() => StageAsync(c1.Reader, c2.Writer));
        var s3 = Task.Run(() => StageAsync(c2.Reader, c3.Writer));
        long count = 0;
        while (await c3.Reader.WaitToReadAsync())
        {
            while (c3.Reader.TryRead(out _))
            {
                count++;
            }
        }

        await Task.WhenAll(producer, s1, s2, s3);
        return count;
    }

    [Benchmark]
    public async Task<long> Dataflow_ThreeLinkedBlocks()
    {
        var options = new ExecutionDataflowBlockOptions { BoundedCapacity = Capacity, SingleProducerConstrained = true };
        var link = new DataflowLinkOptions { PropagateCompletion = true };
        var b1 = new TransformBlock<int, int>(x => x + 1, options);
        var b2 = new TransformBlock<int, int>(x => x + 1, options);
        var b3 = new TransformBlock<int, int>(x => x + 1, options);
        long count = 0;
        var sink = new ActionBlock<int>(_ => count++, options);
        b1.LinkTo(b2, link);
        b2.LinkTo(b3, link);
        b3.LinkTo(sink, link);
        for (var i = 0; i < Items; i++)
        {
            await b1.SendAsync(i);
        }

        b1.Complete();
        await sink.Completion;
        return count;
    }

    /// <summary>The floor for a fused chain: LINQ to Objects, synchronous, one thread, no cancellation or metrics checks.</summary>
    [Benchmark]
    public long Linq_ThreeSelects_Reference() => Enumerable.Range(0, Items).Select(x => x + 1).Select(x => x + 1).Select(x => x + 1).LongCount();

    [Benchmark]
    public Task<long> Flow_ThreeSyncStages_Fused() =>
        Flow.From(Enumerable.Range(0, Items)).Select(x => x + 1).Select(x => x + 1).Select(x => x + 1).CountAsync();

    [Benchmark]
    public Task<long> Flow_ThreeAsyncStages_Buffered() =>
        Flow.From(Enumerable.Range(0, Items)).Select(AddOneAsync).Select(AddOneAsync).Select(AddOneAsync).CountAsync();

    private static async Task StageAsync(ChannelReader<int> input, ChannelWriter<int> output)
    {
        while (await input.WaitToReadAsync())
        {
            while (input.TryRead(out var x))
            {
                await output.WriteAsync(x + 1);
            }
        }

        output.Complete();
    }
}
