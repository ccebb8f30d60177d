using System.Collections.Concurrent;
using FlowKit.Tests.TestUtilities;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Loop;

[TestClass]
public sealed class EventLoopCallbackTests
{
    [TestMethod]
    [Timeout(10_000)]
    public void CallbackThrows_DefaultHandler_ReportsAndKeepsRunning()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var after = false;
        var original = Console.Error;
        loop.CallSoon(() => throw new InvalidOperationException("callback failed"));
        loop.CallSoon(() => after = true);
        loop.RunUntilComplete(() => Task.CompletedTask);
        Assert.IsTrue(after, "the loop went on after the failing callback");
        Assert.AreSame(original, Console.Error);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void CallbackThrows_CustomHandler_ReceivesTheExceptionOnTheLoop()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var seen = new List<(Exception, bool)>();
        var boom = new ArithmeticException("x");
        loop.SetExceptionHandler((l, ex) => seen.Add((ex, l.IsOnLoopThread)));
        loop.CallSoon(() => throw boom);
        loop.CallLater(TimeSpan.Zero, () => throw boom);
        loop.RunUntilComplete(async () =>
        {
            await loop.SleepAsync(TimeSpan.Zero);
            await loop.SleepAsync(TimeSpan.Zero);
        });
        Assert.HasCount(2, seen);
        Assert.IsTrue(seen.All(s => ReferenceEquals(s.Item1, boom) && s.Item2));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void ExceptionHandlerThrows_LoopStillRuns()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        loop.SetExceptionHandler((_, _) => throw new InvalidOperationException("handler failed"));
        loop.CallSoon(() => throw new FormatException());
        Assert.AreEqual(5, loop.RunUntilComplete(() => Task.FromResult(5)));
        loop.SetExceptionHandler(null);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void CallSoon_WithState_PassesIt()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        object? got = null;
        var state = new object();
        loop.CallSoon(s => got = s, state);
        loop.RunUntilComplete(() => Task.CompletedTask);
        Assert.AreSame(state, got);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void RunInExecutor_ResultComesBackOnTheLoopThread()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var (result, workerOffLoop, backOnLoop) = loop.RunUntilComplete(async () =>
        {
            var offLoop = false;
            var r = await loop.RunInExecutor(() =>
            {
                offLoop = !loop.IsOnLoopThread;
                return 21 * 2;
            });
            return (r, offLoop, loop.IsOnLoopThread);
        });
        Assert.AreEqual(42, result);
        Assert.IsTrue(workerOffLoop);
        Assert.IsTrue(backOnLoop);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void RunInExecutor_OnAGivenScheduler_RunsThere()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var pair = new ConcurrentExclusiveSchedulerPair();
        var ranOn = loop.RunUntilComplete(() => loop.RunInExecutor(() => TaskScheduler.Current, pair.ExclusiveScheduler));
        Assert.AreSame(pair.ExclusiveScheduler, ranOn);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void RunInExecutor_WorkThrows_RethrowsTheOriginalException()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var boom = new IOException("disk");
        var thrown = Assert.ThrowsExactly<IOException>(() => loop.RunUntilComplete(() => loop.RunInExecutor(new Action(() => throw boom))));
        Assert.AreSame(boom, thrown);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunInExecutor_CancelledBeforeStart_IsCancelled()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var task = loop.RunInExecutor(() => 1, cancellationToken: cts.Token);
        loop.RunUntilComplete(async () =>
        {
            try
            {
                await task;
            }
            catch (OperationCanceledException)
            {
                // observed below
            }
        });
        await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => task);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunInExecutor_LoopClosesWhileWorkRuns_TaskStillCompletes()
    {
        var loop = new EventLoop(new FakeTimeProvider());
        var release = new ManualResetEventSlim();
        var task = loop.RunInExecutor(() =>
        {
            release.Wait();
            return 3;
        });
        loop.Dispose();
        release.Set();
        Assert.AreEqual(3, await task);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SynchronizationContextSend_FromAnotherThread_RunsOnTheLoop()
    {
        await using var host = new LoopTestHost();
        await host.Loop.WaitAllTasksBlockedAsync();
        var onLoop = false;
        await Task.Run(() => host.Loop.SynchronizationContext.Send(_ => onLoop = host.Loop.IsOnLoopThread, null));
        Assert.IsTrue(onLoop);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void TaskScheduler_RunsTasksOnTheLoop()
    {
        using var loop = new EventLoop(new FakeTimeProvider());
        var threads = new ConcurrentBag<bool>();
        loop.RunUntilComplete(() => Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            Task.Factory.StartNew(() => threads.Add(loop.IsOnLoopThread), CancellationToken.None, TaskCreationOptions.None, loop.TaskScheduler))));
        Assert.HasCount(50, threads);
        Assert.IsTrue(threads.All(t => t));
    }
}
