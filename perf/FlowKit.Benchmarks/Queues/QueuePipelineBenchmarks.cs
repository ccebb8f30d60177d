using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Queues;

/// <summary>
/// A three-stage pipeline (produce, transform, consume) joined by two buffers of 1,024, built on the raw bounded
/// <see cref="Channel{T}"/> (baseline), on <see cref="AsyncQueue{T}"/> and on <see cref="MemoryChannel"/> (with <c>ReceiveAsync</c> and with
/// <c>await foreach</c>). Per-item time and allocations.
/// </summary>
[MemoryDiagnoser]
public class QueuePipelineBenchmarks
{
    private const int Capacity = 1024;
    private const int Items = 200_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public async Task Channel_ThreeStages()
    {
        var first = Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait });
        var second = Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait });
        var source = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await first.Writer.WriteAsync(i);
            }
        });
        var middle = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await second.Writer.WriteAsync(await first.Reader.ReadAsync() * 2);
            }
        });
        long sum = 0;
        for (var i = 0; i < Items; i++)
        {
            sum += await second.Reader.ReadAsync();
        }

        await Task.WhenAll(source, middle);
        Check(sum);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task AsyncQueue_ThreeStages()
    {
        var first = new AsyncQueue<int>(Capacity);
        var second = new AsyncQueue<int>(Capacity);
        var source = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await first.PutAsync(i);
            }
        });
        var middle = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await second.PutAsync(await first.GetAsync() * 2);
            }
        });
        long sum = 0;
        for (var i = 0; i < Items; i++)
        {
            sum += await second.GetAsync();
        }

        await Task.WhenAll(source, middle);
        Check(sum);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task MemoryChannel_ThreeStages_AwaitForeach()
    {
        var (firstSend, firstReceive) = MemoryChannel.Open<int>(Capacity);
        var (secondSend, secondReceive) = MemoryChannel.Open<int>(Capacity);
        var source = Task.Run(async () =>
        {
            using (firstSend)
            {
                for (var i = 0; i < Items; i++)
                {
                    await firstSend.SendAsync(i);
                }
            }
        });
        var middle = Task.Run(async () =>
        {
            using (secondSend)
            {
                await foreach (var item in firstReceive)
                {
                    await secondSend.SendAsync(item * 2);
                }
            }
        });
        long sum = 0;
        await foreach (var item in secondReceive)
        {
            sum += item;
        }

        await Task.WhenAll(source, middle);
        Check(sum);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task MemoryChannel_ThreeStages_ReceiveAsync()
    {
        var (firstSend, firstReceive) = MemoryChannel.Open<int>(Capacity);
        var (secondSend, secondReceive) = MemoryChannel.Open<int>(Capacity);
        var source = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await firstSend.SendAsync(i);
            }
        });
        var middle = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await secondSend.SendAsync(await firstReceive.ReceiveAsync() * 2);
            }
        });
        long sum = 0;
        for (var i = 0; i < Items; i++)
        {
            sum += await secondReceive.ReceiveAsync();
        }

        await Task.WhenAll(source, middle);
        Check(sum);
    }

    private static void Check(long sum)
    {
        if (sum != (long)Items * (Items - 1))
        {
            throw new InvalidOperationException($"lost items: sum {sum}");
        }
    }
}
