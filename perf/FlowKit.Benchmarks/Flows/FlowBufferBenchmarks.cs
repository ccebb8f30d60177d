using System.Threading.Channels;

using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Flows;

/// <summary>
/// One buffered hop over 1,000,000 ints: a producer task writing a bounded <c>Channel&lt;T&gt;</c> that the caller drains (baseline) against
/// <c>Flow.Buffer(128)</c> between an in-memory source and a counting sink (a task hop through the one-worker stage ring).
/// </summary>
[MemoryDiagnoser]
public class FlowBufferBenchmarks
{
    private const int Capacity = 128;

    [Params(1_000_000)]
    public int Items { get; set; }

    [Benchmark(Baseline = true)]
    public async Task<long> Channel_OneHop()
    {
        var channel = Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await channel.Writer.WriteAsync(i);
            }

            channel.Writer.Complete();
        });
        long count = 0;
        while (await channel.Reader.WaitToReadAsync())
        {
            while (channel.Reader.TryRead(out _))
            {
                count++;
            }
        }

        await producer;
        return count;
    }

    [Benchmark]
    public Task<long> Flow_Buffer_OneHop() => Flow.From(Enumerable.Range(0, Items)).Buffer(Capacity).CountAsync();
}
