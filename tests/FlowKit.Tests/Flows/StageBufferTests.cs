using System.Diagnostics;

using FlowKit.Flows;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

/// <summary>
/// The lock-free single-reader, single-writer ring in front of one-worker stages: exact hand-off under races (random capacities, batching
/// readers, deferred and immediate wake-ups, timer wakes from a third thread, stops mid-stream), and each wake-up rule on its own.
/// </summary>
[TestClass]
public sealed class StageBufferTests
{
    private static int Iterations => FlowsTestSupport.Stress ? 20_000 : 2_000;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60_000)]
    [DoNotParallelize]
    public async Task RandomHandOffs_DeliverEveryItemOnceInOrder()
    {
        var seed = Environment.TickCount;
        TestContext.WriteLine($"seed {seed}");
        var random = new Random(seed);
        long items = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var capacity = random.Next(0, 3) == 0 ? random.Next(1, 5) : random.Next(1, 300);
            var count = random.Next(0, 5_000);
            var deferred = random.Next(2) == 0;
            var batchReader = random.Next(3) == 0 ? random.Next(2, capacity + 3) : 1;
            var ticks = random.Next(3) == 0;
            var stopAt = random.Next(5) == 0 ? random.Next(0, count + 1) : -1;
            var buffer = new StageBuffer<int>(capacity);

            var writer = Task.Run(async () =>
            {
                var wakes = new WakeBatcher(deferred ? buffer : null);
                for (var n = 0; n < count; n++)
                {
                    wakes.StartItem();
                    var write = buffer.WriteAsync(n);
                    if (!write.IsCompletedSuccessfully)
                    {
                        wakes.Flush();
                        await write;
                    }

                    wakes.AfterEmit();
                }

                wakes.Flush();
                buffer.TryComplete();
            });

            // Timer wakes from a third thread (a dedicated one: it spins, and must not take a pool thread from the writer).
            var stopTicking = 0;
            var ticker = new Thread(() =>
            {
                while (Volatile.Read(ref stopTicking) == 0)
                {
                    buffer.WakeReader();
                    Thread.Yield();
                }
            });
            if (ticks)
            {
                ticker.Start();
            }

            var received = new List<int>(count);
            var stopped = false;
            try
            {
                while (await buffer.WaitToReadAsync(batchReader))
                {
                    while (buffer.TryRead(out var item))
                    {
                        received.Add(item);
                        if (received.Count == stopAt)
                        {
                            buffer.TryComplete(new OperationCanceledException("stop"));
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
                stopped = true;
            }

            Volatile.Write(ref stopTicking, 1);
            if (ticks)
            {
                ticker.Join();
            }

            if (stopped)
            {
                // A stop fails the writer if it was still writing; everything it wrote before is read first. (A write racing with the stop
                // may still land after the reader's last look: the stopped run abandons the buffer, as a stopped flow drops what is in flight.)
                try
                {
                    await writer;
                }
                catch (OperationCanceledException)
                {
                }

                Assert.IsTrue(received.Count >= stopAt, $"iteration {i}: {received.Count} read before the stop at {stopAt}");
            }
            else
            {
                await writer;
                Assert.AreEqual(count, received.Count, $"iteration {i}: capacity {capacity}, deferred {deferred}, batch {batchReader}");
            }

            for (var n = 0; n < received.Count; n++)
            {
                if (received[n] != n)
                {
                    Assert.Fail($"iteration {i}: item {n} was {received[n]} (capacity {capacity}, deferred {deferred}, batch {batchReader})");
                }
            }

            if (!stopped)
            {
                Assert.AreEqual(0, buffer.Count);
            }

            items += received.Count;
        }

        var line = $"stage buffer: {Iterations} random hand-offs, {items} items, lost 0, duplicated 0, out of order 0";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ImmediateWrite_WakesAParkedReaderAtOnce()
    {
        var buffer = new StageBuffer<int>(128);
        var waiting = buffer.WaitToReadAsync();
        Assert.IsFalse(waiting.IsCompleted);
        await buffer.WriteAsync(1);
        Assert.IsTrue(await waiting);
        Assert.IsTrue(buffer.TryRead(out var item));
        Assert.AreEqual(1, item);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task DeferredWrites_WakeTheReaderAtAQuarterOrOnFlush()
    {
        var buffer = new StageBuffer<int>(128);
        buffer.DeferWakes();
        var waiting = buffer.WaitToReadAsync();
        for (var n = 0; n < 31; n++)
        {
            await buffer.WriteAsync(n);
        }

        Assert.IsFalse(waiting.IsCompleted, "31 held-back items do not wake the reader");
        Assert.IsTrue(buffer.HasWaitingReader);
        await buffer.WriteAsync(31);
        Assert.IsTrue(await waiting, "the 32nd (a quarter of 128) does");

        while (buffer.TryRead(out _))
        {
        }

        waiting = buffer.WaitToReadAsync();
        await buffer.WriteAsync(99);
        Assert.IsFalse(waiting.IsCompleted);
        buffer.Flush();
        Assert.IsTrue(await waiting, "a flush announces what was held back");
        Assert.IsTrue(buffer.TryRead(out var item));
        Assert.AreEqual(99, item);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task FullBuffer_WakesAReaderThatWasHeldBack()
    {
        var buffer = new StageBuffer<int>(4);
        buffer.DeferWakes();
        var waiting = buffer.WaitToReadAsync(minCount: 1);
        await buffer.WriteAsync(0);
        Assert.IsTrue(await waiting, "capacity 4: a quarter is one item");

        buffer.TryRead(out _);
        var large = new StageBuffer<int>(8);
        large.DeferWakes();
        var parked = large.WaitToReadAsync();
        for (var n = 0; n < 8; n++)
        {
            await large.WriteAsync(n);
        }

        var blocked = large.WriteAsync(8);
        Assert.IsFalse(blocked.IsCompleted, "the ninth item waits for room");
        Assert.IsTrue(await parked, "a writer that blocks on a full buffer has woken its reader");
        Assert.IsTrue(large.TryRead(out _));
        large.TryComplete(new OperationCanceledException("stop"));
        await Assert.ThrowsExactlyAsync<OperationCanceledException>(async () => await blocked);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task BlockedWriter_IsWokenOnceHalfIsDrained()
    {
        var buffer = new StageBuffer<int>(8);
        for (var n = 0; n < 8; n++)
        {
            await buffer.WriteAsync(n);
        }

        var blocked = buffer.WriteAsync(8);
        Assert.IsFalse(blocked.IsCompleted);
        for (var n = 0; n < 3; n++)
        {
            Assert.IsTrue(buffer.TryRead(out _));
        }

        Assert.IsFalse(blocked.IsCompleted, "5 left of 8: the writer sleeps on");
        Assert.IsTrue(buffer.TryRead(out _));
        await blocked;
        Assert.AreEqual(5, buffer.Count, "4 left plus the written ninth");
        var rest = new List<int>();
        buffer.TryComplete();
        while (await buffer.WaitToReadAsync())
        {
            while (buffer.TryRead(out var item))
            {
                rest.Add(item);
            }
        }

        CollectionAssert.AreEqual(new[] { 4, 5, 6, 7, 8 }, rest);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task BatchingReader_IsWokenWhenItsBatchIsThereOrTheBufferCompletes()
    {
        var buffer = new StageBuffer<int>(16);
        var waiting = buffer.WaitToReadAsync(minCount: 5);
        for (var n = 0; n < 4; n++)
        {
            await buffer.WriteAsync(n);
        }

        Assert.IsFalse(waiting.IsCompleted);
        await buffer.WriteAsync(4);
        Assert.IsTrue(await waiting);
        for (var n = 0; n < 5; n++)
        {
            buffer.TryRead(out _);
        }

        waiting = buffer.WaitToReadAsync(minCount: 5);
        await buffer.WriteAsync(5);
        buffer.TryComplete();
        Assert.IsTrue(await waiting, "completion hands over a partial batch");
        Assert.IsTrue(buffer.TryRead(out var last));
        Assert.AreEqual(5, last);
        Assert.IsFalse(await buffer.WaitToReadAsync(minCount: 5));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Stop_DrainsThenThrows_AndFailsLaterWrites()
    {
        var buffer = new StageBuffer<int>(4);
        var parked = buffer.WaitToReadAsync();
        var stop = new OperationCanceledException("stop");
        Assert.IsTrue(buffer.TryComplete(stop));
        Assert.IsFalse(buffer.TryComplete(), "completes once");
        var thrown = await Assert.ThrowsExactlyAsync<OperationCanceledException>(async () => await parked);
        Assert.AreSame(stop, thrown);
        var write = await Assert.ThrowsExactlyAsync<OperationCanceledException>(async () => await buffer.WriteAsync(1));
        Assert.AreSame(stop, write);

        var other = new StageBuffer<string>(4);
        await other.WriteAsync("a");
        other.TryComplete(stop);
        Assert.IsTrue(await other.WaitToReadAsync());
        Assert.IsTrue(other.TryRead(out var a));
        Assert.AreEqual("a", a);
        await Assert.ThrowsExactlyAsync<OperationCanceledException>(async () => await other.WaitToReadAsync());
        await Assert.ThrowsExactlyAsync<System.Threading.Channels.ChannelClosedException>(async () =>
        {
            var closed = new StageBuffer<int>(1);
            closed.TryComplete();
            await closed.WriteAsync(1);
        });
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task WakeReader_WakesAParkedReader_OrMakesItsNextWaitReturn()
    {
        var buffer = new StageBuffer<int>(4);
        var parked = buffer.WaitToReadAsync();
        buffer.WakeReader();
        Assert.IsTrue(await parked);
        Assert.IsFalse(buffer.TryRead(out _));

        buffer.WakeReader();
        var next = buffer.WaitToReadAsync();
        Assert.IsTrue(next.IsCompletedSuccessfully, "a tick before the wait is not lost");
        Assert.IsTrue(await next);
        Assert.IsFalse(buffer.WaitToReadAsync().IsCompleted, "and is delivered once");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task WakeBatcher_FlushesItemsHeldBackBySlowSynchronousWork()
    {
        var buffer = new StageBuffer<int>(128);
        var wakes = new WakeBatcher(buffer);
        var waiting = buffer.WaitToReadAsync();
        wakes.StartItem();
        await buffer.WriteAsync(0);
        wakes.AfterEmit();
        Assert.IsFalse(waiting.IsCompleted, "one fast item is held back");

        // Slow synchronous work between two items (a CPU-bound step, not a wait): the second item's look at the clock flushes.
        wakes.StartItem();
        SpinFor(TimeSpan.FromMilliseconds(2));
        await buffer.WriteAsync(1);
        wakes.AfterEmit();
        Assert.IsTrue(waiting.IsCompleted, "held back no longer than about one item's time");
        Assert.IsTrue(await waiting);
        Assert.IsTrue(buffer.TryRead(out _) && buffer.TryRead(out _));

        // The item after that is timed: found slow, every item from then on is announced at once.
        waiting = buffer.WaitToReadAsync();
        wakes.StartItem();
        SpinFor(TimeSpan.FromMilliseconds(1));
        await buffer.WriteAsync(2);
        wakes.AfterEmit();
        Assert.IsTrue(await waiting);
        Assert.IsTrue(buffer.TryRead(out _));
        for (var n = 3; n < 10; n++)
        {
            waiting = buffer.WaitToReadAsync();
            wakes.StartItem();
            await buffer.WriteAsync(n);
            wakes.AfterEmit();
            Assert.IsTrue(waiting.IsCompleted, $"item {n} after a slow one is announced at once");
            Assert.IsTrue(buffer.TryRead(out _));
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task WakeBatcher_FastItems_AreHeldBackUntilAQuarterOrAFlush()
    {
        var buffer = new StageBuffer<int>(128);
        var wakes = new WakeBatcher(buffer);
        var waiting = buffer.WaitToReadAsync();
        for (var n = 0; n < 10; n++)
        {
            wakes.StartItem();
            await buffer.WriteAsync(n);
            wakes.AfterEmit();
        }

        // Ten fast items are (almost always) well under the 200 µs bound; if this machine stalled, they were rightly flushed.
        if (!waiting.IsCompleted)
        {
            wakes.Flush();
        }

        Assert.IsTrue(await waiting);
        Assert.AreEqual(10, buffer.Count);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task BlockingEnumerableSource_AnnouncesEachItemBeforeItsNextMoveNext()
    {
        // A sequence that blocks after each item (a socket or a tailed file): the async stage after it must see item i while the
        // source is blocked waiting for item i + 1, not when that arrives.
        for (var iteration = 0; iteration < 20; iteration++)
        {
            using var gate = new SemaphoreSlim(0);
            var seen = new SemaphoreSlim(0);
            var flow = Flow.From(Blocking(gate, 5)).Select(async (x, ct) =>
            {
                await Task.CompletedTask;
                return x;
            }).ForEachAsync(_ => seen.Release());
            for (var n = 0; n < 5; n++)
            {
                gate.Release();
                await seen.WaitAsync();
            }

            gate.Release();
            await flow;
        }

        static IEnumerable<int> Blocking(SemaphoreSlim gate, int count)
        {
            for (var n = 0; n < count; n++)
            {
                gate.Wait();
                yield return n;
            }

            gate.Wait();
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ChannelAndAsyncSources_AnnounceEachItemBeforeWaitingForTheNext()
    {
        // One item at a time, each awaited at the sink before the next is written: a source that held the item back for a batch while
        // waiting for its own input would deadlock here.
        var channel = System.Threading.Channels.Channel.CreateUnbounded<int>();
        var seen = new SemaphoreSlim(0);
        var fromChannel = Flow.From(channel.Reader).Select(AsyncIdentity).Select(AsyncIdentity).ForEachAsync(_ => seen.Release());
        for (var n = 0; n < 200; n++)
        {
            channel.Writer.TryWrite(n);
            await seen.WaitAsync();
        }

        channel.Writer.Complete();
        await fromChannel;

        var gate = new SemaphoreSlim(0);
        var fromAsync = Flow.From(Gated(gate, 200)).Select(AsyncIdentity).Select(AsyncIdentity).ForEachAsync(_ => seen.Release());
        for (var n = 0; n < 200; n++)
        {
            gate.Release();
            await seen.WaitAsync();
        }

        gate.Release();
        await fromAsync;

        static async IAsyncEnumerable<int> Gated(SemaphoreSlim gate, int count)
        {
            for (var n = 0; n < count; n++)
            {
                await gate.WaitAsync();
                yield return n;
            }

            await gate.WaitAsync();
        }
    }

    private static ValueTask<int> AsyncIdentity(int x, CancellationToken cancellationToken) => new(x);

    private static void SpinFor(TimeSpan duration)
    {
        var work = Stopwatch.StartNew();
        while (work.Elapsed < duration)
        {
            Thread.SpinWait(100);
        }
    }
}
