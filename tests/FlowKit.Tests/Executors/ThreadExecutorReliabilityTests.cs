using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FlowKit.Tests.Executors;

/// <summary>Reliability families 9 (thread executor integrity) and 10 (shutdown semantics).</summary>
[TestClass]
public sealed class ThreadExecutorReliabilityTests
{
    private static int Items => Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1" ? 1_000_000 : 100_000;

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(1)]
    [DataRow(4)]
    [DataRow(16)]
    public async Task Integrity_100kTinyTasks_EachCompletesOnceAndNoneUnobserved(int maxWorkers)
    {
        var unobserved = 0;
        EventHandler<UnobservedTaskExceptionEventArgs> handler = (_, _) => Interlocked.Increment(ref unobserved);
        TaskScheduler.UnobservedTaskException += handler;
        try
        {
            var n = Items;
            var runs = new int[n];
            var watch = Stopwatch.StartNew();
            await using (var executor = new ThreadExecutor(maxWorkers))
            {
                var tasks = new Task<int>[n];
                for (var i = 0; i < n; i++)
                {
                    tasks[i] = executor.SubmitAsync(x => Interlocked.Increment(ref runs[x]) == 1 ? x : -1, i);
                }

                var results = await Task.WhenAll(tasks);
                var rate = n / watch.Elapsed.TotalSeconds;
                var uncompleted = tasks.Count(t => !t.IsCompletedSuccessfully);
                var wrong = results.Where((r, i) => r != i).Count();
                var ranTwice = runs.Count(r => r != 1);

                // Map keeps input order.
                var mapped = new List<int>(n);
                await foreach (var r in executor.MapAsync(x => x, Enumerable.Range(0, n)))
                {
                    mapped.Add(r);
                }

                var outOfOrder = mapped.Where((r, i) => r != i).Count();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                Console.WriteLine($"family 9: maxWorkers {maxWorkers}: {rate:F0} tasks/s, uncompleted {uncompleted}, ran twice {ranTwice}, map out of order {outOfOrder}, unobserved {unobserved}");
                Assert.AreEqual(0, uncompleted);
                Assert.AreEqual(0, wrong);
                Assert.AreEqual(0, ranTwice);
                Assert.AreEqual(n, mapped.Count);
                Assert.AreEqual(0, outOfOrder);
            }

            Assert.AreEqual(0, unobserved);
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= handler;
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Integrity_ThrownException_ArrivesWithOriginalTypeAndStack()
    {
        await using var executor = new ThreadExecutor(2);
        for (var i = 0; i < 200; i++)
        {
            var e = await Assert.ThrowsExactlyAsync<ArithmeticException>(() => executor.SubmitAsync(Thrower, i));
            Assert.AreEqual("bad " + i, e.Message);
            StringAssert.Contains(e.StackTrace, nameof(Thrower));
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Shutdown_CancelPending_CancelsExactlyThePendingItems()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var executor = new ThreadExecutor(2);
            using var gate = new ManualResetEventSlim();
            using var started = new CountdownEvent(2);
            var running = Enumerable.Range(0, 2).Select(i => executor.SubmitAsync(_ =>
            {
                started.Signal();
                gate.Wait();
                return i;
            }, 0)).ToArray();
            started.Wait();
            var pending = Enumerable.Range(0, 100).Select(i => executor.SubmitAsync(x => x, i)).ToArray();
            var watch = Stopwatch.StartNew();
            var shutdown = executor.ShutdownAsync(cancelPending: true);
            Assert.IsTrue(pending.All(t => t.IsCanceled), "every pending item is cancelled at once");
            Assert.IsFalse(shutdown.IsCompleted, "shutdown waits for running work");
            gate.Set();
            await shutdown;
            CollectionAssert.AreEqual(new[] { 0, 1 }, await Task.WhenAll(running));
            Assert.AreEqual(100L, executor.GetStatistics().CancelledItems);
            if (attempt == 0)
            {
                Console.WriteLine($"family 10: cancelled {executor.GetStatistics().CancelledItems} == pending {pending.Length}; shutdown latency {watch.Elapsed.TotalMilliseconds:F2} ms");
            }

            foreach (var t in pending)
            {
                await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => t);
            }
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Shutdown_WithoutCancel_RunsQueuedWorkAndDisposeWaits()
    {
        var executor = new ThreadExecutor(1);
        var done = 0;
        var items = Enumerable.Range(0, 100).Select(i => executor.SubmitAsync(_ => Interlocked.Increment(ref done), 0)).ToArray();
        await executor.DisposeAsync();
        Assert.AreEqual(100, done);
        Assert.IsTrue(items.All(t => t.IsCompletedSuccessfully));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SubmitAfterShutdown_Throws_AndShutdownTwiceIsFine()
    {
        var executor = new ThreadExecutor(2);
        executor.Shutdown();
        executor.Shutdown(cancelPending: true);
        await executor.ShutdownAsync();
        await executor.DisposeAsync();
        executor.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => executor.SubmitAsync(x => x, 1));
        Assert.ThrowsExactly<ObjectDisposedException>(() => executor.MapAsync(x => x, [1]));
        Assert.IsTrue(executor.GetStatistics().IsShutdown);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ShutdownFromInsideAWorker_DoesNotDeadlock()
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            var executor = new ThreadExecutor(2);
            await executor.SubmitAsync(_ => executor.Dispose(), 0);
            await executor.ShutdownAsync();

            var second = new ThreadExecutor(2);
            var viaScheduler = Task.Factory.StartNew(async () =>
            {
                await second.ShutdownAsync();
                return second.IsShutdown;
            }, CancellationToken.None, TaskCreationOptions.None, second.Scheduler).Unwrap();
            Assert.IsTrue(await viaScheduler);
        }

        Console.WriteLine($"family 10: 200 shutdowns from inside a worker, no deadlock, {watch.ElapsedMilliseconds} ms");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SchedulerTasksPendingAtCancellingShutdown_StillComplete()
    {
        var executor = new ThreadExecutor(1);
        using var gate = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        var blocker = executor.SubmitAsync(_ =>
        {
            started.Set();
            gate.Wait();
        }, 0);
        started.Wait();
        var queued = Enumerable.Range(0, 10).Select(i => Task.Factory.StartNew(() => i, CancellationToken.None, TaskCreationOptions.None, executor.Scheduler)).ToArray();
        executor.Shutdown(cancelPending: true);
        gate.Set();
        await blocker;
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).ToArray(), await Task.WhenAll(queued));
        var late = Task.Factory.StartNew(() => 7, CancellationToken.None, TaskCreationOptions.None, executor.Scheduler);
        Assert.AreEqual(7, await late);
        await executor.ShutdownAsync();
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SubmitRacingShutdown_EveryAcceptedItemCompletes_NoneStranded()
    {
        var accepted = 0;
        var rejected = 0;
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var executor = new ThreadExecutor(2);
            var tasks = new List<Task<int>>();
            var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var submitter = Task.Run(() =>
            {
                for (var i = 0; i < 200; i++)
                {
                    if (i == 100)
                    {
                        halfway.SetResult();
                    }

                    try
                    {
                        tasks.Add(executor.SubmitAsync(x => x, i));
                    }
                    catch (ObjectDisposedException)
                    {
                        Interlocked.Increment(ref rejected);
                        return;
                    }
                }
            });
            await halfway.Task;
            var shutdown = executor.ShutdownAsync(cancelPending: attempt % 2 == 0);
            await submitter;
            await shutdown;
            accepted += tasks.Count;
            Assert.IsTrue(tasks.All(t => t.IsCompleted), $"attempt {attempt}: an accepted item was left pending");
        }

        Console.WriteLine($"family 10: submit racing shutdown, 300 attempts: accepted {accepted}, rejected after shutdown {rejected}, stranded 0");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Thrower(int i) => throw new ArithmeticException("bad " + i);
}
