using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Queues;

/// <summary>
/// Single-producer single-consumer throughput through a buffer of 1,024: the raw bounded <see cref="Channel{T}"/> (baseline) against
/// <see cref="AsyncQueue{T}"/>, <see cref="MemoryChannel"/> and the lock-based priority and LIFO queues. Per-item time and
/// allocations (OperationsPerInvoke = items).
/// </summary>
[MemoryDiagnoser]
public class QueueThroughputBenchmarks
{
    private const int Capacity = 1024;
    private const int Items = 100_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public Task Channel_Bounded()
    {
        var channel = Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait });
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await channel.Writer.WriteAsync(i);
            }
        });
        return ConsumeAsync(producer, () => channel.Reader.ReadAsync());
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public Task AsyncQueue_Bounded()
    {
        var queue = new AsyncQueue<int>(Capacity);
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await queue.PutAsync(i);
            }
        });
        return ConsumeAsync(producer, () => queue.GetAsync());
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public Task MemoryChannel_Bounded()
    {
        var (send, receive) = MemoryChannel.Open<int>(Capacity);
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await send.SendAsync(i);
            }
        });
        return ConsumeAsync(producer, () => receive.ReceiveAsync());
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public Task PriorityAsyncQueue_Bounded()
    {
        var queue = new PriorityAsyncQueue<int>(Capacity);
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await queue.PutAsync(i);
            }
        });
        return ConsumeAsync(producer, () => queue.GetAsync());
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public Task LifoAsyncQueue_Bounded()
    {
        var queue = new LifoAsyncQueue<int>(Capacity);
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await queue.PutAsync(i);
            }
        });
        return ConsumeAsync(producer, () => queue.GetAsync());
    }

    private static async Task ConsumeAsync(Task producer, Func<ValueTask<int>> get)
    {
        long sum = 0;
        for (var i = 0; i < Items; i++)
        {
            sum += await get();
        }

        await producer;
        if (sum != (long)Items * (Items - 1) / 2)
        {
            throw new InvalidOperationException($"lost items: sum {sum}");
        }
    }
}
