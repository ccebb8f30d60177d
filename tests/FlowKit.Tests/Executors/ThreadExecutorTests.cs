using System.Threading.Tasks.Dataflow;

namespace FlowKit.Tests.Executors;

[TestClass]
public sealed class ThreadExecutorTests
{
    [TestMethod]
    [Timeout(10_000)]
    public void Constructor_BadMaxWorkers_Throws()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ThreadExecutor(0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ThreadExecutor(-1));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ThreadExecutor(ThreadExecutor.MaxAllowedWorkers + 1));
        Assert.AreEqual("maxWorkers", e.ParamName);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SubmitAsync_NullWork_Throws()
    {
        await using var executor = new ThreadExecutor(1);
        Assert.ThrowsExactly<ArgumentNullException>(() => executor.SubmitAsync<int, int>((Func<int, int>)null!, 1));
        Assert.ThrowsExactly<ArgumentNullException>(() => executor.MapAsync<int, int>((x, _) => x, (IEnumerable<int>)null!, new ExecutorMapOptions()));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => executor.MapAsync<int, int>((x, _) => x, [1], new ExecutorMapOptions { MaxInFlight = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => executor.AsBlock<int, int>(x => x, new ExecutorBlockOptions { Capacity = -1 }));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SubmitAsync_RunsOnADedicatedThread_NotThePool()
    {
        await using var executor = new ThreadExecutor(2, "fk-test");
        var (name, isPool, isWorker) = await executor.SubmitAsync(_ => (Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread, executor.IsWorkerThread), 0);
        StringAssert.StartsWith(name, "fk-test #");
        Assert.IsFalse(isPool);
        Assert.IsTrue(isWorker);
        Assert.IsFalse(executor.IsWorkerThread);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SubmitAsync_PendingItemCancelled_IsCancelledWithThatToken()
    {
        await using var executor = new ThreadExecutor(1);
        using var gate = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        var blocker = executor.SubmitAsync(_ =>
        {
            started.Set();
            gate.Wait();
        }, 0);
        started.Wait();
        using var cts = new CancellationTokenSource();
        var ran = false;
        var pending = executor.SubmitAsync(_ => ran = true, 0, cts.Token);
        await cts.CancelAsync();
        var e = await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => pending);
        Assert.AreEqual(cts.Token, e.CancellationToken);
        gate.Set();
        await blocker;
        await executor.ShutdownAsync();
        Assert.IsFalse(ran);
        Assert.AreEqual(1L, executor.GetStatistics().CancelledItems);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SubmitAsync_RunningItemSeesItsToken()
    {
        await using var executor = new ThreadExecutor(1);
        using var cts = new CancellationTokenSource();
        using var started = new ManualResetEventSlim();
        var item = executor.SubmitAsync((int _, CancellationToken ct) =>
        {
            started.Set();
            ct.WaitHandle.WaitOne();
            ct.ThrowIfCancellationRequested();
            return 0;
        }, 0, cts.Token);
        started.Wait();
        await cts.CancelAsync();
        await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => item);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SubmitAsync_PrecancelledToken_ReturnsCancelledTask()
    {
        await using var executor = new ThreadExecutor(1);
        var t = executor.SubmitAsync(x => x, 1, new CancellationToken(true));
        Assert.IsTrue(t.IsCanceled);
        await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => t);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task SixtyFourBlockingItems_On64Threads_LeaveThreadPoolResponsive()
    {
        await using var executor = new ThreadExecutor(64);
        using var gate = new ManualResetEventSlim();
        using var allStarted = new CountdownEvent(64);
        var blocked = Enumerable.Range(0, 64).Select(i => executor.SubmitAsync(_ =>
        {
            allStarted.Signal();
            gate.Wait();
            return i;
        }, 0)).ToArray();
        await Task.Run(allStarted.Wait);
        var poolThreadsBefore = ThreadPool.ThreadCount;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => i)));
        var latency = watch.Elapsed;
        Console.WriteLine($"64 blocked executor threads: 100 thread-pool items took {latency.TotalMilliseconds:F1} ms; pool threads {poolThreadsBefore} -> {ThreadPool.ThreadCount}");
        Assert.AreEqual(99, answers[^1]);
        Assert.AreEqual(64, executor.GetStatistics().BusyWorkers);
        Assert.IsTrue(latency < TimeSpan.FromSeconds(2), $"the thread pool was starved: {latency}");
        gate.Set();
        CollectionAssert.AreEqual(Enumerable.Range(0, 64).ToArray(), await Task.WhenAll(blocked));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task MapAsync_Unordered_YieldsAsCompleted()
    {
        await using var executor = new ThreadExecutor(2);
        using var gate = new ManualResetEventSlim();
        var results = new List<int>();
        await foreach (var r in executor.MapAsync(x =>
        {
            if (x == 0)
            {
                gate.Wait();
            }

            return x;
        }, [0, 1, 2], ordered: false))
        {
            results.Add(r);
            gate.Set();
        }

        Assert.AreNotEqual(0, results[0]);
        CollectionAssert.AreEquivalent(new[] { 0, 1, 2 }, results);
    }

    [TestMethod]
    [Timeout(10_000)]
    [DataRow(1)]
    [DataRow(4)]
    [DataRow(16)]
    public async Task MapAsync_ConsumerStopsEarly_InputReadAtMostMaxInFlightAhead_AndNothingLeftRunning(int maxInFlight)
    {
        await using var executor = new ThreadExecutor(4);
        var produced = 0;
        var running = 0;
        IEnumerable<int> Infinite()
        {
            for (var i = 0; ; i++)
            {
                produced++;
                yield return i;
            }
        }

        var consumed = 0;
        await foreach (var _ in executor.MapAsync((int x, CancellationToken _) =>
        {
            Interlocked.Increment(ref running);
            Interlocked.Decrement(ref running);
            return x;
        }, Infinite(), new ExecutorMapOptions { MaxInFlight = maxInFlight }))
        {
            if (++consumed == 10)
            {
                break;
            }
        }

        Assert.IsTrue(produced <= consumed + maxInFlight, $"read {produced} inputs for {consumed} results");
        Assert.AreEqual(0, Volatile.Read(ref running));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task MapAsync_AsyncInputItemThrows_FailsWithOriginalException()
    {
        await using var executor = new ThreadExecutor(2);
        await Assert.ThrowsExactlyAsync<FormatException>(async () =>
        {
            await foreach (var _ in executor.MapAsync(x => x == 3 ? throw new FormatException("3") : x, Source()))
            {
            }
        });

        static async IAsyncEnumerable<int> Source()
        {
            for (var i = 0; i < 10; i++)
            {
                await Task.Yield();
                yield return i;
            }
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Scheduler_AsDataflowTaskScheduler_RunsOnExecutorThreadsWithinMaxWorkers()
    {
        await using var executor = new ThreadExecutor(3);
        var concurrent = 0;
        var maxConcurrent = 0;
        var offThread = 0;
        var block = new ActionBlock<int>(_ =>
        {
            var now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref maxConcurrent, now);
            if (!executor.IsWorkerThread)
            {
                Interlocked.Increment(ref offThread);
            }

            Thread.SpinWait(1000);
            Interlocked.Decrement(ref concurrent);
        }, new ExecutionDataflowBlockOptions { TaskScheduler = executor.Scheduler, MaxDegreeOfParallelism = 8 });
        for (var i = 0; i < 500; i++)
        {
            block.Post(i);
        }

        block.Complete();
        await block.Completion;
        Assert.AreEqual(0, offThread);
        Assert.IsTrue(maxConcurrent <= 3, $"max concurrency {maxConcurrent}");
        Assert.AreEqual(3, executor.Scheduler.MaximumConcurrencyLevel);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsBlock_LinkedMesh_KeepsOrderAndBounds()
    {
        await using var executor = new ThreadExecutor(4);
        var block = executor.AsBlock((int x) => x * 2, new ExecutorBlockOptions { Capacity = 8 });
        var results = new List<int>();
        var sink = new ActionBlock<int>(results.Add);
        block.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < 1_000; i++)
        {
            await block.SendAsync(i);
        }

        block.Complete();
        await sink.Completion;
        CollectionAssert.AreEqual(Enumerable.Range(0, 1_000).Select(i => i * 2).ToList(), results);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
