using System.Diagnostics;

using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

namespace FlowKit.Tests.Executors;

/// <summary>Reliability families 12 (recycling), 13 (saturation and reuse), 14 (no orphans) and shutdown of a process pool.</summary>
[TestClass]
public sealed class ProcessExecutorLifecycleTests
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task MaxTasksPerWorker3_OneWorker_PidsRepeatThreeTimesThenChange()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1, maxTasksPerWorker: 3);
        var pids = new List<int>();
        for (var i = 0; i < 7; i++)
        {
            pids.Add(await pool.SubmitAsync(TestWork.Pid, 0));
        }

        Console.WriteLine("family 12: pid sequence " + string.Join(", ", pids));
        Assert.AreEqual(pids[0], pids[1]);
        Assert.AreEqual(pids[0], pids[2]);
        Assert.AreNotEqual(pids[0], pids[3]);
        Assert.AreEqual(pids[3], pids[5]);
        Assert.AreNotEqual(pids[3], pids[6]);
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(1, 2, 6)]
    [DataRow(2, 2, 8)]
    public async Task Recycling_WorkersMaxTasksTasks_AllFinish(int workers, int maxTasks, int tasks)
    {
        var watch = Stopwatch.StartNew();
        await using var pool = ExecutorsTestWorkers.Pool(workers, maxTasks);
        var results = await Task.WhenAll(Enumerable.Range(0, tasks).Select(i => pool.SubmitAsync(TestWork.Square, (long)i)));
        Assert.AreEqual((long)(tasks - 1) * (tasks - 1), results[^1]);
        Console.WriteLine($"family 12: ({workers}, {maxTasks}, {tasks}) finished in {watch.ElapsedMilliseconds} ms, workers started {pool.GetStatistics().WorkersStarted}");
        Assert.IsTrue(pool.GetStatistics().WorkersStarted >= tasks / maxTasks);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task DisposedWhileWorkerRetires_QueuedItemsNeverStranded()
    {
        var pool = ExecutorsTestWorkers.Pool(workers: 1, maxTasksPerWorker: 1);
        var items = Enumerable.Range(0, 10).Select(i => pool.SubmitAsync(TestWork.Square, (long)i)).ToArray();
        await items[0];   // the first worker has served its one item and is retiring now
        await pool.ShutdownAsync(cancelPending: true);
        var stranded = items.Count(t => !t.IsCompleted);
        var done = items.Count(t => t.IsCompletedSuccessfully);
        var cancelled = items.Count(t => t.IsCanceled);
        Console.WriteLine($"family 12: disposed while retiring: done {done}, cancelled {cancelled}, stranded {stranded}");
        Assert.AreEqual(0, stranded);
        Assert.IsTrue(done >= 1);
        Assert.AreEqual(10, done + cancelled);
        Assert.AreEqual(0, pool.GetWorkerProcessIds().Count);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SubmitRacingShutdown_EveryAcceptedItemCompletes()
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var pool = ExecutorsTestWorkers.Pool(workers: 2);
            await pool.SubmitAsync(TestWork.Square, 1L);
            var tasks = new List<Task<long>>();
            var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var submitter = Task.Run(() =>
            {
                for (var i = 0; i < 2_000; i++)
                {
                    if (i == 1_000)
                    {
                        halfway.SetResult();
                    }

                    try
                    {
                        tasks.Add(pool.SubmitAsync(TestWork.Square, (long)i));
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                }
            });
            await halfway.Task;
            var shutdown = pool.ShutdownAsync(cancelPending: attempt % 2 == 0);
            await submitter;
            await shutdown;
            Assert.IsTrue(tasks.All(t => t.IsCompleted), "an accepted item was left pending");
            Assert.IsTrue(tasks.All(t => t.IsCompletedSuccessfully || t.IsCanceled));
            Assert.AreEqual(0, pool.GetWorkerProcessIds().Count);
        }
    }

    [TestMethod]
    [Timeout(90_000)]
    public async Task Saturation_15xBlockedJobs_LiveProcessesEqualMaxWorkers_ThenSequentialJobsReuseOneWorker()
    {
        const int workers = 2;
        var pool = ExecutorsTestWorkers.Pool(workers);
        using var cts = new CancellationTokenSource();
        var blocked = Enumerable.Range(0, 15 * workers).Select(_ => pool.SubmitAsync(TestWork.WaitForCancel, 0, cts.Token)).ToArray();
        while (pool.GetStatistics().InFlightCalls < workers * 2)
        {
            await Task.Yield();
        }

        var stats = pool.GetStatistics();
        Console.WriteLine($"family 13: {blocked.Length} blocked jobs: live processes {stats.LiveWorkers}, spawned {stats.WorkersStarted}, queued {stats.QueuedCalls}");
        Assert.AreEqual(workers, stats.LiveWorkers);
        Assert.AreEqual(workers, (int)stats.WorkersStarted);
        await cts.CancelAsync();
        foreach (var t in blocked)
        {
            await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => t);
        }

        var pids = new HashSet<int>();
        for (var i = 0; i < 20; i++)
        {
            pids.Add(await pool.SubmitAsync(TestWork.Pid, 0));
        }

        Console.WriteLine($"family 13: 20 sequential jobs ran in {pids.Count} process(es); total spawned {pool.GetStatistics().WorkersStarted}");
        Assert.AreEqual(workers, (int)pool.GetStatistics().WorkersStarted);
        await pool.DisposeAsync();
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task DisposeAsync_LeavesNoChildProcess()
    {
        var pool = ExecutorsTestWorkers.Pool(workers: 2);
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => pool.SubmitAsync(TestWork.Square, (long)i)));
        var pids = pool.GetWorkerProcessIds();
        Assert.AreEqual(2, pids.Count);
        await pool.DisposeAsync();
        foreach (var pid in pids)
        {
            Assert.IsFalse(ExecutorsTestWorkers.IsAlive(pid), $"worker {pid} outlived DisposeAsync");
        }

        await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => pool.SubmitAsync(TestWork.Square, 1L));
        await pool.DisposeAsync();
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ShutdownAsync_TokenCancelled_KillsBusyWorkersAndLeavesNoChild()
    {
        var pool = ExecutorsTestWorkers.Pool(workers: 2);
        var hung = Enumerable.Range(0, 4).Select(_ => pool.SubmitAsync(TestWork.Hang, 0)).ToArray();
        while (pool.GetStatistics().InFlightCalls < 4)
        {
            await Task.Yield();
        }

        var pids = pool.GetWorkerProcessIds();
        using var cts = new CancellationTokenSource();
        var shutdown = pool.ShutdownAsync(cancellationToken: cts.Token);
        Assert.IsFalse(shutdown.IsCompleted);
        var watch = Stopwatch.StartNew();
        await cts.CancelAsync();
        await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => shutdown);
        Console.WriteLine($"parent token cancelled: workers gone after {watch.ElapsedMilliseconds} ms");
        foreach (var pid in pids)
        {
            Assert.IsFalse(ExecutorsTestWorkers.IsAlive(pid), $"worker {pid} outlived a cancelled shutdown");
        }

        foreach (var t in hung)
        {
            await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => t);
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task MapAsync_ConsumerCancels_InFlightItemsStopAndDisposeLeavesNoChild()
    {
        var pool = ExecutorsTestWorkers.Pool(workers: 2);
        using var cts = new CancellationTokenSource();
        var seen = 0;
        await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in pool.MapAsync(TestWork.CountPrimes, Enumerable.Repeat(20_000, 100_000), cancellationToken: cts.Token))
            {
                if (++seen == 100)
                {
                    await cts.CancelAsync();
                }
            }
        });
        var pids = pool.GetWorkerProcessIds();
        await pool.DisposeAsync();
        Assert.IsTrue(pids.All(p => !ExecutorsTestWorkers.IsAlive(p)));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task HarnessKilled_WorkersExitWithin5Seconds()
    {
        var info = new ProcessStartInfo(ExecutorsTestWorkers.WorkerPath) { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("--harness");
        using var harness = Process.Start(info)!;
        var line = await harness.StandardOutput.ReadLineAsync();
        Assert.IsNotNull(line);
        var pids = line.Split(' ').Skip(1).Select(int.Parse).ToArray();
        Assert.AreEqual(2, pids.Length);
        Assert.IsTrue(pids.All(ExecutorsTestWorkers.IsAlive));
        harness.Kill();
        await harness.WaitForExitAsync();
        var worst = TimeSpan.Zero;
        var leftover = 0;
        foreach (var pid in pids)
        {
            var gone = await ExecutorsTestWorkers.WaitGoneAsync(pid, TimeSpan.FromSeconds(5));
            if (gone is null)
            {
                leftover++;
                Process.GetProcessById(pid).Kill();
            }
            else if (gone > worst)
            {
                worst = gone.Value;
            }
        }

        Console.WriteLine($"family 14: harness SIGKILLed: leftover processes {leftover}, time to exit {worst.TotalMilliseconds:F0} ms");
        Assert.AreEqual(0, leftover);
    }
}
