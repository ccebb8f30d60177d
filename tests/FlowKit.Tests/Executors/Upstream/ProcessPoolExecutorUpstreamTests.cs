using System.Runtime.CompilerServices;

using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

namespace FlowKit.Tests.Executors.Upstream;

/// <summary>CPython's <c>Lib/test/test_concurrent_futures</c> cases for <c>ProcessPoolExecutor</c> (executor.py, test_shutdown.py,
/// test_process_pool.py), ported to <see cref="ProcessExecutor"/> and named after the upstream case. Worker processes are costly,
/// so each case starts as few as its point needs. The cases that do not apply are listed, with the reason, in docs/executors.md.</summary>
[TestClass]
public sealed class ProcessPoolExecutorUpstreamTests
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task test_submit()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        Assert.AreEqual(256L, await pool.SubmitAsync(TestWork.Square, 16L));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_map()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 2);
        var results = new List<long>();
        await foreach (var r in pool.MapAsync(TestWork.Square, Enumerable.Range(0, 10).Select(static i => (long)i)))
        {
            results.Add(r);
        }

        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(static i => (long)i * i).ToList(), results);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_map_exception()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var results = new List<string>();
        var e = await Assert.ThrowsExactlyAsync<RemoteWorkException>(async () =>
        {
            await foreach (var r in pool.MapAsync(TestWork.Echo, ["a", "b"]))
            {
                results.Add(r);
            }

            await foreach (var r in pool.MapAsync(TestWork.Throw, ["zero division"], new ExecutorMapOptions { ChunkSize = 1 }))
            {
                Assert.Fail($"unexpected result {r}");
            }
        });
        CollectionAssert.AreEqual(new[] { "a", "b" }, results);
        Assert.AreEqual("zero division", e.RemoteMessage);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void test_max_workers_negative()
    {
        foreach (var number in new[] { 0, -1 })
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProcessExecutor(number, ExecutorsTestWorkers.Options()));
            StringAssert.Contains(e.Message, "maxWorkers must be between 1");
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_no_stale_references()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        using var lifetime = new CancellationTokenSource();
        var weak = await SubmitAndForget(pool, lifetime.Token);
        await CollectAsync();
        Assert.IsFalse(weak.IsAlive, "the result of a finished item is still referenced");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_free_reference()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        await using var results = pool.MapAsync(TestWork.Echo, Enumerable.Range(0, 10).Select(static i => "item " + i), new ExecutorMapOptions { ChunkSize = 1 }).GetAsyncEnumerator();
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
    [Timeout(60_000)]
    public async Task test_idle_process_reuse_one()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 4);
        var a = await pool.SubmitAsync(TestWork.Pid, 21);
        var b = await pool.SubmitAsync(TestWork.Pid, 6);
        var c = await pool.SubmitAsync(TestWork.Pid, 3);
        Assert.AreEqual(1L, pool.GetStatistics().WorkersStarted, "three sequential jobs on an idle 4-worker pool started more than one process");
        Assert.AreEqual(1, new[] { a, b, c }.Distinct().Count());
        Assert.AreEqual(1, pool.GetStatistics().LiveWorkers);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_idle_process_reuse_multiple()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 4);
        await pool.SubmitAsync(TestWork.Square, 12L);
        var b = pool.SubmitAsync(TestWork.Square, 33L);
        await pool.SubmitAsync(TestWork.Square, 25L);
        var d = pool.SubmitAsync(TestWork.Square, 18L);
        await pool.SubmitAsync(TestWork.Square, 1L);
        var f = pool.SubmitAsync(TestWork.Square, 0L);
        await Task.WhenAll(b, d, f);
        var stats = pool.GetStatistics();
        Console.WriteLine($"test_idle_process_reuse_multiple: started {stats.WorkersStarted}, live {stats.LiveWorkers}");
        Assert.IsTrue(stats.WorkersStarted <= 3, $"started {stats.WorkersStarted} processes");
    }

    [TestMethod]
    [Timeout(90_000)]
    public async Task test_saturation()
    {
        const int workers = 3;
        var pool = ExecutorsTestWorkers.Pool(workers);
        using var cancel = new CancellationTokenSource();
        var blocked = Enumerable.Range(0, 15 * workers).Select(_ => pool.SubmitAsync(TestWork.WaitForCancel, 0, cancel.Token)).ToArray();
        while (pool.GetStatistics().InFlightCalls < workers * 2)
        {
            await Task.Yield();
        }

        Assert.AreEqual(workers, pool.GetStatistics().LiveWorkers);
        Assert.AreEqual(workers, (int)pool.GetStatistics().WorkersStarted);
        await cancel.CancelAsync();
        foreach (var t in blocked)
        {
            await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => t);
        }

        await pool.DisposeAsync();
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_run_after_shutdown()
    {
        var pool = ExecutorsTestWorkers.Pool(workers: 1);
        pool.Shutdown();
        Assert.ThrowsExactly<ObjectDisposedException>(() => pool.SubmitAsync(TestWork.Square, 1L));
        await pool.DisposeAsync();
        Assert.AreEqual(0L, pool.GetStatistics().WorkersStarted);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_cancel_futures()
    {
        var pool = ExecutorsTestWorkers.Pool(workers: 1, inFlight: 1);
        var running = pool.SubmitAsync(TestWork.WaitForCancel, 0);
        var queued = Enumerable.Range(0, 20).Select(i => pool.SubmitAsync(TestWork.Square, (long)i)).ToArray();
        while (pool.GetStatistics().InFlightCalls < 1)
        {
            await Task.Yield();
        }

        await pool.ShutdownAsync(cancelPending: true);
        foreach (var t in queued.Append<Task>(running))
        {
            await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => t);
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_killed_child()
    {
        // Upstream: killing a worker breaks the pool (BrokenProcessPool). FlowKit fails only what that worker held and replaces it.
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        var held = pool.SubmitAsync(TestWork.WaitForCancel, 0);
        while (pool.GetStatistics().InFlightCalls < 1)
        {
            await Task.Yield();
        }

        System.Diagnostics.Process.GetProcessById(pid).Kill();
        var e = await Assert.ThrowsExactlyAsync<WorkerCrashedException>(() => held);
        Assert.AreEqual(pid, e.ProcessId);
        Assert.AreNotEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_map_chunksize()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 2);
        var expected = Enumerable.Range(0, 40).Select(static i => (long)i * i).ToList();
        foreach (var chunk in new[] { 5, 40, 50 })
        {
            var results = new List<long>();
            await foreach (var r in pool.MapAsync(TestWork.Square, Enumerable.Range(0, 40).Select(static i => (long)i), new ExecutorMapOptions { ChunkSize = chunk }))
            {
                results.Add(r);
            }

            CollectionAssert.AreEqual(expected, results, $"chunksize {chunk}");
        }

        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pool.MapAsync(TestWork.Square, [1L], new ExecutorMapOptions { ChunkSize = -1 }));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task test_max_tasks_early_shutdown()
    {
        var pool = new ProcessExecutor(3, ExecutorsTestWorkers.Options(maxTasksPerWorker: 1));
        var tasks = Enumerable.Range(0, 6).Select(i => pool.SubmitAsync(TestWork.Square, (long)i)).ToArray();
        await pool.ShutdownAsync();
        CollectionAssert.AreEqual(Enumerable.Range(0, 6).Select(static i => (long)i * i).ToArray(), await Task.WhenAll(tasks));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> SubmitAndForget(ProcessExecutor pool, CancellationToken token) =>
        Track(await pool.SubmitAsync(TestWork.Echo, "stale?", token));

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
