using System.Runtime.CompilerServices;

namespace FlowKit.Tests.Executors.Upstream;

/// <summary>CPython's <c>Lib/test/test_concurrent_futures</c> cases for <c>ThreadPoolExecutor</c> (executor.py, test_shutdown.py,
/// test_thread_pool.py), ported to <see cref="ThreadExecutor"/> and named after the upstream case. The cases that do not apply
/// are listed, with the reason, in docs/executors.md.</summary>
[TestClass]
public sealed class ThreadPoolExecutorUpstreamTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task test_submit()
    {
        await using var executor = new ThreadExecutor(4);
        Assert.AreEqual(256.0, await executor.SubmitAsync(static x => Math.Pow(x.A, x.B), (A: 2.0, B: 8.0)));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task test_map()
    {
        await using var executor = new ThreadExecutor(4);
        var expected = Enumerable.Range(0, 10).Select(static i => Math.Pow(i, i)).ToList();
        var results = new List<double>();
        await foreach (var r in executor.MapAsync(static (int i) => Math.Pow(i, i), Enumerable.Range(0, 10)))
        {
            results.Add(r);
        }

        CollectionAssert.AreEqual(expected, results);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task test_map_exception()
    {
        // executor.map(divmod, [1, 1, 1, 1], [2, 3, 0, 5]): two results, then ZeroDivisionError.
        await using var executor = new ThreadExecutor(4);
        int[] dividends = [1, 1, 1, 1];
        int[] divisors = [2, 3, 0, 5];
        var results = new List<int>();
        await Assert.ThrowsExactlyAsync<DivideByZeroException>(async () =>
        {
            await foreach (var r in executor.MapAsync((int i) => DivMod(i), Enumerable.Range(0, 4)))
            {
                results.Add(r);
            }
        });
        CollectionAssert.AreEqual(new[] { 0, 0 }, results);

        int DivMod(int i) => dividends[i] / divisors[i];
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task test_shutdown_race_issue12456()
    {
        // Submit, then shut down at once: neither may throw, and the item still completes.
        for (var i = 0; i < 100; i++)
        {
            var executor = new ThreadExecutor(4);
            var task = executor.SubmitAsync(static x => x * 2, i);
            executor.Shutdown();
            Assert.AreEqual(i * 2, await task);
            await executor.DisposeAsync();
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task test_no_stale_references()
    {
        // Issue #16284: the executor must not keep a finished item's result alive.
        await using var executor = new ThreadExecutor(4);
        var weak = await SubmitAndForget(executor);
        await CollectAsync();
        Assert.IsFalse(weak.IsAlive, "the result of a finished item is still referenced");
    }

    [TestMethod]
    [Timeout(10_000)]
    public void test_max_workers_negative()
    {
        foreach (var number in new[] { 0, -1 })
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ThreadExecutor(number));
            StringAssert.Contains(e.Message, "maxWorkers must be between 1");
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task test_free_reference()
    {
        // Issue #14406: the result iterator must not keep an internal reference to results. In .NET the enumerator's Current
        // holds the item until the next MoveNextAsync, so the check is one step later than upstream's.
        await using var executor = new ThreadExecutor(4);
        await using var results = executor.MapAsync(static (int i) => new object[] { i }, Enumerable.Range(0, 10)).GetAsyncEnumerator();
        WeakReference? previous = null;
        var count = 0;
        while (await results.MoveNextAsync())
        {
            await CollectAsync();
            Assert.IsFalse(previous?.IsAlive ?? false, $"result {count - 1} still referenced after the consumer moved on");
            previous = Track(results.Current);
            count++;
        }

        Assert.AreEqual(10, count);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task test_run_after_shutdown()
    {
        var executor = new ThreadExecutor(2);
        executor.Shutdown();
        Assert.ThrowsExactly<ObjectDisposedException>(() => executor.SubmitAsync(static x => x, 1));
        await executor.DisposeAsync();
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task test_hang_issue12364()
    {
        // Shutdown with items still queued behind running ones must not hang, and every item still runs.
        var executor = new ThreadExecutor(2);
        var tasks = Enumerable.Range(0, 50).Select(i => executor.SubmitAsync(static x => { Thread.SpinWait(1_000); return x; }, i)).ToArray();
        await executor.ShutdownAsync();
        CollectionAssert.AreEqual(Enumerable.Range(0, 50).ToArray(), await Task.WhenAll(tasks));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task test_cancel_futures()
    {
        var executor = new ThreadExecutor(2);
        using var gate = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 50).Select(i => executor.SubmitAsync(x => { gate.Wait(); return x; }, i)).ToArray();
        while (executor.GetStatistics().BusyWorkers < 2)
        {
            await Task.Yield();
        }

        executor.Shutdown(cancelPending: true);
        gate.Set();
        await executor.ShutdownAsync();

        // The items already running finished; every other one was cancelled; none is left pending.
        var cancelled = tasks.Count(static t => t.IsCanceled);
        var ran = tasks.Count(static t => t.IsCompletedSuccessfully);
        Assert.AreEqual(48, cancelled);
        Assert.AreEqual(2, ran);
        Assert.IsTrue(tasks.All(static t => t.IsCompleted));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task test_shutdown_no_wait()
    {
        // shutdown(wait=False, cancel_futures=True): returns at once; the running items finish later, the queued ones are cancelled.
        var executor = new ThreadExecutor(2);
        using var gate = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 10).Select(i => executor.SubmitAsync(x => { gate.Wait(); return x; }, i)).ToArray();
        while (executor.GetStatistics().BusyWorkers < 2)
        {
            await Task.Yield();
        }

        executor.Shutdown(cancelPending: true);
        Assert.IsTrue(executor.IsShutdown);
        Assert.AreEqual(0, tasks.Count(static t => t.IsCompletedSuccessfully), "shutdown(wait=False) must not wait for running items");
        gate.Set();
        await executor.ShutdownAsync();
        Assert.AreEqual(2, tasks.Count(static t => t.IsCompletedSuccessfully));
        Assert.AreEqual(8, tasks.Count(static t => t.IsCanceled));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task test_context_manager_shutdown()
    {
        Task<int> task;
        await using (var executor = new ThreadExecutor(2))
        {
            task = executor.SubmitAsync(static x => Math.Abs(x), -5);
        }

        // Leaving the block waited for the item.
        Assert.IsTrue(task.IsCompletedSuccessfully);
        Assert.AreEqual(5, await task);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task test_saturation()
    {
        const int workers = 4;
        var executor = new ThreadExecutor(workers);
        using var release = new SemaphoreSlim(0);
        var tasks = Enumerable.Range(0, 15 * workers).Select(_ => executor.SubmitAsync(s => s.Wait(), release)).ToArray();
        while (executor.GetStatistics().BusyWorkers < workers)
        {
            await Task.Yield();
        }

        var stats = executor.GetStatistics();
        Assert.AreEqual(workers, stats.BusyWorkers);
        Assert.AreEqual(15 * workers - workers, stats.QueuedItems);
        release.Release(15 * workers);
        await Task.WhenAll(tasks);
        await executor.ShutdownAsync();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> SubmitAndForget(ThreadExecutor executor) =>
        Track(await executor.SubmitAsync(static _ => new object[] { "stale?" }, 0));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Track(object o) => new(o);

    /// <summary>A full collection from a fresh thread-pool work item, so the frames that completed the last task are off the stack.</summary>
    private static async Task CollectAsync()
    {
        await Task.Yield();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
