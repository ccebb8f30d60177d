using FlowKit.Tests.TestUtilities;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Loop;

[TestClass]
public sealed class EventLoopRunTests
{
    [TestMethod]
    [Timeout(10_000)]
    public void RunUntilComplete_CoroutineReturns_ReturnsItsResult()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        Assert.AreEqual(42, loop.RunUntilComplete(async () =>
        {
            await Task.Yield();
            return 42;
        }));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void RunUntilComplete_CoroutineThrows_RethrowsTheSameException()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var boom = new FormatException("boom");
        var thrown = Assert.ThrowsExactly<FormatException>(() => loop.RunUntilComplete(async () =>
        {
            await Task.Yield();
            throw boom;
        }));
        Assert.AreSame(boom, thrown);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void RunUntilComplete_EveryContinuation_RunsOnTheLoopThread()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var onLoop = loop.RunUntilComplete(async () =>
        {
            var all = loop.IsOnLoopThread && EventLoop.Current == loop;
            for (var i = 0; i < 100; i++)
            {
                await Task.Yield();
                await loop.SleepAsync(TimeSpan.Zero);
                await Task.Run(() => { });
                all &= loop.IsOnLoopThread;
            }

            return all;
        });
        Assert.IsTrue(onLoop);
        Assert.IsNull(EventLoop.Current);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunForever_WhileRunning_ThrowsInvalidOperation()
    {
        await using var host = new LoopTestHost();
        await host.Loop.WaitAllTasksBlockedAsync();
        var ex = Assert.ThrowsExactly<InvalidOperationException>(host.Loop.RunForever);
        StringAssert.Contains(ex.Message, "already running");
        Assert.ThrowsExactly<InvalidOperationException>(() => host.Loop.RunUntilComplete(() => Task.CompletedTask));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Run_AfterClose_ThrowsInvalidOperation()
    {
        var loop = new EventLoop(new FakeTimeProvider());
        loop.Dispose();
        loop.Dispose();
        Assert.IsTrue(loop.IsClosed);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(loop.RunForever).Message, "closed");
        Assert.ThrowsExactly<InvalidOperationException>(() => loop.RunUntilComplete(() => Task.CompletedTask));
        Assert.ThrowsExactly<InvalidOperationException>(() => loop.CallSoon(() => { }));
        Assert.ThrowsExactly<InvalidOperationException>(() => loop.CallLater(TimeSpan.Zero, () => { }));
        Assert.ThrowsExactly<InvalidOperationException>(() => loop.CreateTask(() => Task.CompletedTask));
        Assert.ThrowsExactly<InvalidOperationException>(() => loop.RunInExecutor(() => 1));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void RunUntilComplete_FromTheLoopThread_ThrowsInvalidOperation()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var ex = loop.RunUntilComplete(() =>
            Task.FromResult(Assert.ThrowsExactly<InvalidOperationException>(() => loop.RunUntilComplete(() => Task.CompletedTask))));
        StringAssert.Contains(ex.Message, "own thread");
    }

    [TestMethod]
    [Timeout(10_000)]
    public void NullArguments_ThrowArgumentNull()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        Assert.ThrowsExactly<ArgumentNullException>(() => loop.RunUntilComplete((Func<Task<int>>)null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => loop.RunUntilComplete((Func<Task>)null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => loop.RunUntilComplete((Task<int>)null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => loop.CallSoon(null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => loop.CallLater(TimeSpan.Zero, null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => loop.CreateTask(null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => loop.RunInExecutor<int>(null!));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => loop.CallLater(TimeSpan.FromTicks(-1), () => { }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => loop.SleepAsync(TimeSpan.FromTicks(-1)));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Stop_BeforeRunning_StopsTheNextRunOnly_AsAsyncioDoes()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        loop.Stop();
        loop.Stop();

        // asyncio: stop() before run_until_complete() ends that run after one iteration ("Event loop stopped before Future completed").
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => loop.RunUntilComplete(async () =>
        {
            await Task.Yield();
            return 0;
        }));
        StringAssert.Contains(ex.Message, "stopped before the coroutine completed");

        // The pending stop is used up: the next run goes to completion.
        Assert.AreEqual(7, loop.RunUntilComplete(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await Task.Yield();
            }

            return 7;
        }));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Stop_DuringRunUntilComplete_ThrowsAndTheLateCompletionDoesNotStopTheNextRun()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var gate = new TaskCompletionSource();
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => loop.RunUntilComplete(async () =>
        {
            loop.Stop();
            await gate.Task;
            return 1;
        }));
        StringAssert.Contains(ex.Message, "stopped before the coroutine completed");

        // The first coroutine completes during the second run; it must not stop that run.
        var result = loop.RunUntilComplete(async () =>
        {
            gate.SetResult();
            for (var i = 0; i < 20; i++)
            {
                await Task.Yield();
            }

            return 2;
        });
        Assert.AreEqual(2, result);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Stop_RunsCallbacksQueuedBeforeIt_AndKeepsLaterOnesForTheNextRun()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var log = new List<string>();
        loop.CallSoon(() => log.Add("a"));
        loop.CallSoon(() =>
        {
            log.Add("b");
            loop.Stop();
            loop.CallSoon(() => log.Add("later"));
        });
        loop.CallSoon(() => log.Add("c"));
        loop.RunForever();
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, log);
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        CollectionAssert.AreEqual(new[] { "a", "b", "c", "later" }, log);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void CallSoon_FromManyThreads_KeepsEachProducersOrder()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        const int Producers = 4;
        const int PerProducer = 20_000;
        var last = new int[Producers];
        var violations = 0;
        var count = 0;
        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(() =>
        {
            for (var i = 1; i <= PerProducer; i++)
            {
                var seq = i;
                loop.CallSoon(() =>
                {
                    if (last[p] != seq - 1)
                    {
                        violations++;
                    }

                    last[p] = seq;
                    count++;
                });
            }
        })).ToArray();
        loop.RunUntilComplete(async () =>
        {
            await Task.WhenAll(producers);
            var done = new TaskCompletionSource();
            loop.CallSoon(done.SetResult);
            await done.Task;
        });
        Console.WriteLine($"CallSoon FIFO per producer: {count} callbacks, order violations = {violations}");
        Assert.AreEqual(0, violations);
        Assert.AreEqual(Producers * PerProducer, count);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Dispose_WhileRunUntilCompleteWaits_EndsTheRunWithAClearError()
    {
        var loop = new EventLoop(new FakeTimeProvider());
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => loop.RunUntilComplete(async () =>
        {
            await Task.Yield();
            _ = Task.Run(loop.Dispose);
            await new TaskCompletionSource().Task;
        }));
        StringAssert.Contains(ex.Message, "closed");
        Assert.IsTrue(loop.IsClosed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Dispose_FromTheLoopThread_ClosesWithoutDeadlock()
    {
        var loop = new EventLoop(new FakeTimeProvider());
        var run = Task.Factory.StartNew(loop.RunForever, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        loop.CallSoon(loop.Dispose);
        await run;
        Assert.IsTrue(loop.IsClosed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Close_WithAContinuationStillQueued_RunsItOnThePoolSoItsAwaiterDoesNotHang()
    {
        var time = new FakeTimeProvider();
        var loop = new EventLoop(time);
        var release = new TaskCompletionSource();
        var after = new TaskCompletionSource<bool>();

        // A coroutine on the loop waits for an outside signal; the loop closes; then the signal arrives.
        loop.RunUntilComplete(() =>
        {
            _ = loop.CreateTask(async () =>
            {
                await release.Task;
                after.SetResult(loop.IsOnLoopThread);
            });
            return Task.CompletedTask;
        });
        loop.Dispose();
        release.SetResult();
        Assert.IsFalse(await after.Task, "after close the continuation runs on the thread pool");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Close_WithPendingSleep_CancelsIt()
    {
        var loop = new EventLoop(new FakeTimeProvider());
        var sleep = loop.SleepAsync(TimeSpan.FromHours(1));
        loop.Dispose();
        await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => sleep);
    }

    [TestMethod]
    [Timeout(30_000)]
    public void RunAndStop_RacedFromAnotherThread_AlwaysEndsTheRun()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        for (var i = 0; i < 300; i++)
        {
            using var stopper = Task.Run(async () =>
            {
                while (!loop.IsRunning)
                {
                    await Task.Yield();
                }

                loop.Stop();
            });
            loop.RunForever();
            stopper.Wait();
        }

        Assert.IsFalse(loop.IsRunning);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void GetStatistics_CountsCallbacksAndTimers()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        loop.CallSoon(() => { });
        loop.CallLater(TimeSpan.FromSeconds(5), () => { });
        var before = loop.GetStatistics();
        Assert.AreEqual(1, before.ReadyCallbacks);
        Assert.AreEqual(1, before.ScheduledTimers);
        Assert.IsFalse(before.IsRunning);
        loop.RunUntilComplete(() => Task.CompletedTask);
        var after = loop.GetStatistics();
        Assert.IsGreaterThanOrEqualTo(2L, after.CallbacksRun);
        Assert.AreEqual(0, after.ReadyCallbacks);
    }
}
