using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Queues;

/// <summary>
/// Reliability family 3, bounded memory under a slow consumer: capacity 64, a producer with no delay and a consumer that awaits a
/// 1 ms virtual delay (FakeTimeProvider, advanced by a driver each time the consumer starts a delay). Samples depth and managed
/// memory every 1,000 items. 20,000 items by default, 1,000,000 under FLOWKIT_TEST_STRESS=1.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class QueueBoundedMemoryTests
{
    [TestMethod]
    [Timeout(600_000)]
    [DataRow("fifo")]
    [DataRow("priority")]
    [DataRow("lifo")]
    [DataRow("channel")]
    public async Task SlowConsumer_DepthStaysAtMostCapacityAndMemoryStaysFlat(string kind)
    {
        const int Capacity = 64;
        var items = QueueAssert.Size(20_000, 1_000_000);
        var sampleEvery = QueueAssert.Size(1_000, 10_000);
        var q = QueueUnderTest.Create(kind, Capacity);
        var time = new DelaySignallingTimeProvider();
        var maxDepth = 0;
        long blockedTicks = 0;
        var producerClock = Stopwatch.StartNew();
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < items; i++)
            {
                var put = q.PutAsync(i);
                if (!put.IsCompleted)
                {
                    var start = Stopwatch.GetTimestamp();
                    await put;
                    blockedTicks += Stopwatch.GetTimestamp() - start;
                }
            }

            producerClock.Stop();
        });

        using var stop = new CancellationTokenSource();
        var driver = Task.Run(async () =>
        {
            while (true)
            {
                await time.DelayStarted.WaitAsync(stop.Token);
                time.Advance(TimeSpan.FromMilliseconds(1));
            }
        });

        long baseline = 0, peak = 0;
        for (var i = 0; i < items; i++)
        {
            maxDepth = Math.Max(maxDepth, q.Count);
            _ = await q.GetAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(1), time);
            if (i % sampleEvery == 0)
            {
                // Retained bytes (after a full collection): garbage from the delays is not growth.
                var bytes = GC.GetTotalMemory(true);
                if (i == sampleEvery * 2)
                {
                    baseline = bytes;
                }

                peak = i > sampleEvery * 2 ? Math.Max(peak, bytes) : peak;
            }
        }

        await producer;
        stop.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => driver);
        var growthMb = Math.Max(0, peak - baseline) / 1024.0 / 1024.0;
        var blockedFraction = (double)blockedTicks / Stopwatch.Frequency / producerClock.Elapsed.TotalSeconds;
        Console.WriteLine(
            $"family3 {q.Name,-28} items={items} max depth={maxDepth} (bound {Capacity}) peak retained growth after warm-up={growthMb:F3} MB " +
            $"producer blocked={blockedFraction:P0} virtual time={time.GetUtcNow() - time.Start:g}");
        Assert.IsLessThanOrEqualTo(Capacity, maxDepth);
        Assert.IsLessThanOrEqualTo(5.0, growthMb);
        Assert.AreEqual(items, (int)(time.GetUtcNow() - time.Start).TotalMilliseconds, "one virtual millisecond per item");
    }

    /// <summary>A FakeTimeProvider that signals each timer it creates, so the driver advances time exactly when the consumer waits.</summary>
    private sealed class DelaySignallingTimeProvider : FakeTimeProvider
    {
        public SemaphoreSlim DelayStarted { get; } = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            DelayStarted.Release();
            return timer;
        }
    }
}
