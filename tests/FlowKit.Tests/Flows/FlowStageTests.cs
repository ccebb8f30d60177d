using System.Collections.Concurrent;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;

using FlowKit.Tests.TestUtilities;

using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowStageTests
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task Select_SyncChain_MapsInOrder()
    {
        var items = await Flow.From(Enumerable.Range(0, 1000)).Select(x => x + 1).Select(x => x * 2).Where(x => x % 4 == 0).ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 1000).Select(x => (x + 1) * 2).Where(x => x % 4 == 0).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Select_Async_MapsInOrder()
    {
        var items = await Flow.From(Enumerable.Range(0, 500))
            .Select(async (x, ct) =>
            {
                await Task.Yield();
                return x * 3;
            })
            .ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 500).Select(x => x * 3).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Select_ParallelOrdered_RunsItemsConcurrentlyAndKeepsInputOrder()
    {
        // Item 0 cannot finish until item 1 has started: only true parallelism gets past it, and order must still be 0, 1, 2, ...
        var secondStarted = new TaskCompletionSource();
        var items = await Flow.From(Enumerable.Range(0, 200))
            .Select(
                async (x, ct) =>
                {
                    if (x == 1)
                    {
                        secondStarted.TrySetResult();
                    }

                    if (x == 0)
                    {
                        await secondStarted.Task.WaitAsync(ct);
                    }

                    return x;
                },
                new StageOptions { Parallelism = 2, Capacity = 4 })
            .ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 200).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Select_ParallelUnordered_EmitsAsCompleted()
    {
        var firstDone = new TaskCompletionSource();
        await Flow.From(Enumerable.Range(0, 2))
            .Select(
                async (x, ct) =>
                {
                    if (x == 0)
                    {
                        await firstDone.Task.WaitAsync(ct);
                    }

                    return x;
                },
                new StageOptions { Parallelism = 2, Ordered = false })
            .ForEachAsync(
                x =>
                {
                    if (x == 1)
                    {
                        firstDone.TrySetResult();
                    }
                });

        Assert.IsTrue(firstDone.Task.IsCompleted, "item 1 must be emitted while item 0 is still running");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Where_Async_KeepsMatchingItems()
    {
        var items = await Flow.From(Enumerable.Range(0, 100)).Where((x, _) => new ValueTask<bool>(x % 3 == 0), new StageOptions { Parallelism = 3 }).ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 100).Where(x => x % 3 == 0).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SelectMany_Enumerable_FlattensInOrder()
    {
        var items = await Flow.From(new[] { 1, 2, 3 }).SelectMany(x => Enumerable.Repeat(x, x)).ToListAsync();

        CollectionAssert.AreEqual(new[] { 1, 2, 2, 3, 3, 3 }, items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SelectMany_AsyncEnumerable_FlattensInOrder()
    {
        var items = await Flow.From(new[] { 0, 10 }).SelectMany((x, ct) => FlowsTestSupport.RangeAsync(x, 3, ct)).ToListAsync();

        CollectionAssert.AreEqual(new[] { 0, 1, 2, 10, 11, 12 }, items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public void SelectMany_ParallelismAboveOne_ThrowsArgumentOutOfRange()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Flow.From([1]).SelectMany(x => new[] { x }, new StageOptions { Parallelism = 2 }));

        StringAssert.Contains(ex.Message, "Parallelism");
    }

    [TestMethod]
    [Timeout(30_000)]
    [DataRow(1, 10)]
    [DataRow(3, 10)]
    [DataRow(10, 10)]
    [DataRow(4, 0)]
    public async Task Batch_BySize_EmitsFullBatchesAndTheLastPartial(int size, int count)
    {
        var batches = await Flow.From(Enumerable.Range(0, count)).Batch(size).ToListAsync();

        Assert.AreEqual((count + size - 1) / size, batches.Count);
        CollectionAssert.AreEqual(Enumerable.Range(0, count).ToList(), batches.SelectMany(b => b).ToList());
        Assert.IsTrue(batches.Take(batches.Count - 1).All(b => b.Length == size));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Batch_MaxDelay_EmitsPartialBatchOnceTheDelayHasPassedSinceItsFirstItem()
    {
        var time = new FakeTimeProvider();
        var channel = Channel.CreateUnbounded<int>();
        var firstBatch = new TaskCompletionSource<int[]>();
        var run = Flow.From(channel.Reader).Batch(100, TimeSpan.FromMilliseconds(200), time).ForEachAsync(b => firstBatch.TrySetResult(b));
        var writtenAt = time.GetUtcNow();
        channel.Writer.TryWrite(1);
        channel.Writer.TryWrite(2);
        channel.Writer.TryWrite(3);

        var elapsed = await FlowsTestSupport.AdvanceUntilAsync(time, firstBatch.Task, TimeSpan.FromMilliseconds(10));

        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, await firstBatch.Task);
        Assert.IsTrue(time.GetUtcNow() - writtenAt >= TimeSpan.FromMilliseconds(200), $"emitted after {elapsed}");
        channel.Writer.Complete();
        await run;
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Batch_MaxDelay_FullBatchGoesOutWithoutWaiting()
    {
        var time = new FakeTimeProvider();
        var batches = await Flow.From(Enumerable.Range(0, 10)).Batch(5, TimeSpan.FromHours(1), time).ToListAsync();

        Assert.AreEqual(2, batches.Count);
        Assert.AreEqual(TimeSpan.Zero, time.GetUtcNow() - time.Start);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Buffer_DecouplesButKeepsOrder()
    {
        var items = await Flow.From(Enumerable.Range(0, 1000)).Buffer(16).Select(x => x).Buffer(1).ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 1000).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task RateLimit_BurstThenOnePerInterval()
    {
        var time = new FakeTimeProvider();
        var seen = new ConcurrentQueue<TimeSpan>();
        var run = Flow.From(Enumerable.Range(0, 6)).RateLimit(2, TimeSpan.FromSeconds(1), time).ForEachAsync(_ => seen.Enqueue(time.GetUtcNow() - time.Start));

        await FlowsTestSupport.WaitUntilAsync(() => seen.Count >= 2);
        await FlowsTestSupport.AdvanceUntilAsync(time, run, TimeSpan.FromMilliseconds(50));
        await run;

        var at = seen.ToArray();
        Assert.AreEqual(6, at.Length);
        Assert.AreEqual(TimeSpan.Zero, at[1], "a burst of 2 passes at once");
        Assert.IsTrue(at[5] >= TimeSpan.FromSeconds(2), $"6 items at 2/s after a burst of 2 need 2 s, took {at[5]}");
        for (var i = 2; i < at.Length; i++)
        {
            // Item i may pass no earlier than (i - 1) half-seconds: the burst of 2, then one token every 500 ms.
            Assert.IsTrue(at[i] >= TimeSpan.FromMilliseconds(500 * (i - 1)), $"item {i} passed at {at[i]}");
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task RateLimit_RandomRatesAndClockSteps_NeverTooFast_NeverStuck()
    {
        // Random buckets and fake-clock steps (including steps that do not divide the token interval, and sub-millisecond intervals).
        // The limiter once kept its bucket in a double: ten refills of 0.1 summed to 0.9999999999999999, the remaining wait rounded to
        // a zero-millisecond Task.Delay that completed at once, and the loop spun inside the fake clock's Advance, so time never moved again.
        var seed = Environment.TickCount;
        var random = new Random(seed);
        for (var iteration = 0; iteration < 200; iteration++)
        {
            var burst = random.Next(1, 6);
            var period = TimeSpan.FromTicks(random.Next(1, 4) == 1 ? random.Next(1_000, 20_000) : random.Next(1, 2_000) * TimeSpan.TicksPerMillisecond);
            var step = TimeSpan.FromTicks(Math.Max(1, (long)(period.Ticks / burst * random.Next(1, 40) / 10.0)));
            var count = random.Next(1, 25);
            var time = new FakeTimeProvider();
            var seen = new ConcurrentQueue<TimeSpan>();
            var run = Flow.From(Enumerable.Range(0, count)).RateLimit(burst, period, time).ForEachAsync(_ => seen.Enqueue(time.GetUtcNow() - time.Start));
            await FlowsTestSupport.AdvanceUntilAsync(time, run, step);
            await run;

            var at = seen.ToArray();
            Assert.AreEqual(count, at.Length, $"seed {seed}, iteration {iteration}");
            for (var i = burst; i < at.Length; i++)
            {
                // Item i needs i - burst + 1 refilled tokens: (i - burst + 1) * period / burst since the start.
                var earliest = TimeSpan.FromTicks((long)((i - burst + 1) * (double)period.Ticks / burst));
                Assert.IsTrue(at[i] >= earliest - TimeSpan.FromTicks(1), $"seed {seed}, iteration {iteration}: {burst} per {period}, item {i} at {at[i]}, earliest {earliest}");
            }
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SelectByKey_SameKeyInOrder_DifferentKeysInParallel_BoundedActiveKeys()
    {
        for (var iteration = 0; iteration < 50; iteration++)
        {
            var active = new ConcurrentDictionary<int, int>();
            var running = 0;
            var maxActiveKeys = 0;
            var perKeyOverlap = 0;
            var items = Enumerable.Range(0, 300).Select(i => (Key: i % 7, Seq: i)).ToArray();
            var output = await Flow.From(items)
                .SelectByKey(
                    x => x.Key,
                    async (x, ct) =>
                    {
                        if (active.AddOrUpdate(x.Key, 1, (_, n) => n + 1) > 1)
                        {
                            Interlocked.Increment(ref perKeyOverlap);
                        }

                        // Items running at once: with no overlap within a key (checked above), that is the number of active keys.
                        // (Counting the dictionary's non-zero entries is not atomic and over-counts while workers move on.)
                        InterlockedMax(ref maxActiveKeys, Interlocked.Increment(ref running));
                        await Task.Yield();
                        Interlocked.Decrement(ref running);
                        active.AddOrUpdate(x.Key, 0, (_, n) => n - 1);
                        return x;
                    },
                    new StageOptions { Parallelism = 3, Capacity = 8 })
                .ToListAsync();

            Assert.AreEqual(0, perKeyOverlap, "two items of one key ran at the same time");
            Assert.IsTrue(maxActiveKeys <= 3, $"active keys {maxActiveKeys} > 3");
            CollectionAssert.AreEquivalent(items, output);
            foreach (var group in output.GroupBy(x => x.Key))
            {
                CollectionAssert.AreEqual(group.OrderBy(x => x.Seq).ToList(), group.ToList(), $"key {group.Key} out of order");
            }
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SelectByKey_DifferentKeys_RunInParallel()
    {
        var bothRunning = new TaskCompletionSource();
        var running = 0;
        await Flow.From(new[] { 1, 2 })
            .SelectByKey(
                x => x,
                async (x, ct) =>
                {
                    if (Interlocked.Increment(ref running) == 2)
                    {
                        bothRunning.TrySetResult();
                    }

                    await bothRunning.Task.WaitAsync(ct);
                    return x;
                },
                new StageOptions { Parallelism = 2 })
            .ToListAsync();
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Merge_CompletesOnlyWhenAllInputsComplete()
    {
        var slow = Channel.CreateUnbounded<int>();
        var run = Flow.Merge(Flow.From(Enumerable.Range(0, 10)), Flow.From(slow.Reader)).ToListAsync();
        slow.Writer.TryWrite(100);

        await FlowsTestSupport.WaitUntilAsync(() => slow.Reader.Count == 0);
        Assert.IsFalse(run.IsCompleted, "the merge completed while one input was still open");
        slow.Writer.TryWrite(101);
        slow.Writer.Complete();

        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).Append(100).Append(101).ToList(), await run);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Merge_OneInputFails_FailsTheWholeAndStopsTheOthers()
    {
        var endless = new FlowsTestSupport.EndlessSource();
        var failing = Flow.From(Enumerable.Range(0, 5)).Select(x => x == 3 ? throw new FormatException("bad") : x).Named("parse");

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(endless).Merge(failing).CountAsync());

        Assert.AreEqual("parse", ex.StageName);
        Assert.AreEqual(3, ex.Item);
        // The failure may stop the run before the endless input's task has even started; if it started, it was disposed.
        var produced = endless.Produced;
        Assert.IsTrue(produced == 0 || endless.Disposed, "the other input is still running");
        await FlowsTestSupport.YieldFairlyAsync();
        Assert.AreEqual(produced, endless.Produced, "the other input produced after the flow returned");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Via_TransformBlock_RunsAsAStage()
    {
        var items = await Flow.From(Enumerable.Range(0, 100))
            .Via(() => new TransformBlock<int, int>(x => x * 2, new ExecutionDataflowBlockOptions { BoundedCapacity = 4 }))
            .ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 100).Select(x => x * 2).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Via_BlockThrows_FailsTheFlow()
    {
        var flow = Flow.From(Enumerable.Range(0, 100))
            .Via(() => new TransformBlock<int, int>(x => x == 50 ? throw new InvalidCastException("x") : x, new ExecutionDataflowBlockOptions { BoundedCapacity = 2 }));

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => flow.CountAsync());

        Assert.IsInstanceOfType<InvalidCastException>(ex.InnerException);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Broadcast_Wait_EverySinkGetsEveryItem()
    {
        var a = new ConcurrentQueue<int>();
        var b = new ConcurrentQueue<int>();
        var sinkA = new BroadcastSink<int>("a", (f, ct) => f.ForEachAsync(a.Enqueue, ct)) { Capacity = 2 };
        var sinkB = new BroadcastSink<int>("b", (f, ct) => f.Select(x => x * 10).ForEachAsync(b.Enqueue, ct)) { Capacity = 1 };

        await Flow.From(Enumerable.Range(0, 500)).BroadcastAsync([sinkA, sinkB]);

        CollectionAssert.AreEqual(Enumerable.Range(0, 500).ToList(), a.ToList());
        CollectionAssert.AreEqual(Enumerable.Range(0, 500).Select(x => x * 10).ToList(), b.ToList());
        Assert.AreEqual(new BroadcastSinkStatistics(500, 0), sinkA.GetStatistics());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Broadcast_Drop_SlowSinkDropsAndCountsWithoutSlowingTheOthers()
    {
        var release = new TaskCompletionSource();
        var fast = new ConcurrentQueue<int>();
        var slowSeen = new ConcurrentQueue<int>();
        var slow = new BroadcastSink<int>("slow", (f, ct) => f.ForEachAsync(async (x, c) =>
        {
            slowSeen.Enqueue(x);
            await release.Task.WaitAsync(c);
        }, ct)) { Capacity = 3, WhenFull = SlowConsumerPolicy.Drop };
        var quick = new BroadcastSink<int>("fast", (f, ct) => f.ForEachAsync(fast.Enqueue, ct));

        var run = Flow.From(Enumerable.Range(0, 100)).BroadcastAsync([slow, quick]);
        await FlowsTestSupport.WaitUntilAsync(() => fast.Count == 100);
        release.TrySetResult();
        await run;

        var stats = slow.GetStatistics();
        Assert.AreEqual(100, stats.Delivered + stats.Dropped);
        Assert.IsTrue(stats.Dropped >= 96, $"dropped {stats.Dropped}");
        Assert.AreEqual(stats.Delivered, slowSeen.Count);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Broadcast_SinkFails_FailsTheBroadcast()
    {
        var bad = new BroadcastSink<int>("bad", (f, ct) => f.Select(x => x == 7 ? throw new DivideByZeroException() : x).Named("divide").CountAsync(ct));
        var good = new BroadcastSink<int>("good", (f, ct) => f.CountAsync(ct));

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(new FlowsTestSupport.EndlessSource()).BroadcastAsync([bad, good]));

        Assert.AreEqual("divide", ex.StageName);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
