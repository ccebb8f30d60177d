using System.Threading.Tasks.Dataflow;

using FlowKit.Flows;

using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

/// <summary>What is still running, and which exception comes out, when a run ends early: Via blocks, ToAsyncEnumerable, ToObservable.</summary>
[TestClass]
public sealed class FlowRunExitTests
{
    private const int BlockWorkMs = 300;

    public enum Exit
    {
        SinkFailure,
        EnumerationBreak,
        CallerCancellation,
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(Exit.SinkFailure)]
    [DataRow(Exit.EnumerationBreak)]
    [DataRow(Exit.CallerCancellation)]
    public async Task Via_NoBlockDelegateIsStillRunningWhenTheRunReturns(Exit exit)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var running = 0;
            var started = 0;
            var block = new TransformBlock<int, int>(
                async x =>
                {
                    Interlocked.Increment(ref started);
                    Interlocked.Increment(ref running);
                    try
                    {
                        // The block's own work: a Dataflow delegate gets no token, so it runs to its end whatever the flow does.
                        await Task.Delay(x == 0 ? 1 : BlockWorkMs).ConfigureAwait(false);
                        return x;
                    }
                    finally
                    {
                        Interlocked.Decrement(ref running);
                    }
                },
                new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = 4, BoundedCapacity = 8 });
            var flow = Flow.From(Enumerable.Range(0, 1000)).Via(block);
            using var cts = new CancellationTokenSource();
            try
            {
                switch (exit)
                {
                    case Exit.SinkFailure:
                        await flow.ForEachAsync((_, _) => throw new InvalidOperationException("sink boom"));
                        break;
                    case Exit.EnumerationBreak:
                        await foreach (var item in flow.ToAsyncEnumerable())
                        {
                            break;
                        }

                        break;
                    case Exit.CallerCancellation:
                        await flow.ForEachAsync(
                            (_, _) =>
                            {
                                cts.Cancel();
                                return ValueTask.CompletedTask;
                            },
                            cts.Token);
                        break;
                }
            }
            catch (Exception ex) when (ex is FlowStageException or OperationCanceledException)
            {
            }

            var after = Volatile.Read(ref running);
            Assert.IsTrue(Volatile.Read(ref started) >= 2, $"the block should have been busy (started {started})");
            Assert.AreEqual(0, after, $"{exit}: {after} block delegates still running after the run returned (started {started})");
            Assert.IsTrue(block.Completion.IsCompleted, $"{exit}: the block had not completed when the run returned");
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ToAsyncEnumerable_ConsumerThrows_ItsExceptionIsNotReplacedByAStageFailingBecauseOfTheStop()
    {
        for (var i = 0; i < 50; i++)
        {
            var flow = Flow.From(new FlowsTestSupport.EndlessSource())
                .Select(async (x, ct) =>
                {
                    if (x < 3)
                    {
                        return x;
                    }

                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // A stage that reports its own stop as an error (a client library that wraps the cancellation).
                        throw new InvalidOperationException("stage failed while the flow stopped");
                    }

                    return x;
                });
            var error = await Assert.ThrowsExactlyAsync<ArgumentException>(async () =>
            {
                await foreach (var item in flow.ToAsyncEnumerable())
                {
                    if (item == 2)
                    {
                        throw new ArgumentException("consumer boom");
                    }
                }
            });
            Assert.AreEqual("consumer boom", error.Message);
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ToAsyncEnumerable_StageFailsBeforeTheConsumerBreaks_TheFailureStillSurfaces()
    {
        // The stage's failure comes first (the consumer is still inside its loop body when the run fails): it is not swallowed by the break.
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flow = Flow.From(Enumerable.Range(0, 100))
            .Select((x, _) => x == 1 ? throw new InvalidDataException("stage boom") : new ValueTask<int>(x), new StageOptions { Capacity = 1 })
            .Select(x => x, new StageOptions { Capacity = 1 });
        var error = await Assert.ThrowsExactlyAsync<FlowStageException>(async () =>
        {
            FlowRun.Starting += OnStarting;
            try
            {
                await foreach (var item in flow.ToAsyncEnumerable())
                {
                    await failed.Task;
                    break;
                }
            }
            finally
            {
                FlowRun.Starting -= OnStarting;
            }
        });
        Assert.IsInstanceOfType<InvalidDataException>(error.InnerException);

        void OnStarting(FlowRun run) =>
            run.Nursery.CancellationToken.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), failed);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ToObservable_ObserverThrows_NoTerminalCallAndTheExceptionReachesTheUnobservedSweep()
    {
        var source = new FlowsTestSupport.EndlessSource();
        var seen = new List<int>();
        var terminal = 0;
        var observer = System.Reactive.Observer.Create<int>(
            x =>
            {
                seen.Add(x);
                if (x == 2)
                {
                    throw new InvalidProgramException("observer boom " + nameof(ToObservable_ObserverThrows_NoTerminalCallAndTheExceptionReachesTheUnobservedSweep));
                }
            },
            _ => Interlocked.Increment(ref terminal),
            () => Interlocked.Increment(ref terminal));

        var subscription = Flow.From(source).Select(x => x).ToObservable().Subscribe(observer);
        await FlowsTestSupport.WaitUntilAsync(() => source.Disposed);

        // Rx's rule: the observer's own exception is not routed to its OnError; it goes to whoever drove OnNext (here the run's task, which
        // nobody awaits), so it surfaces as an unobserved task exception, and the run-wide sweep fails the test run on it.
        var unobserved = await LeakSweep.TakeUnobservedAsync(e => e.ToString().Contains(nameof(ToObservable_ObserverThrows_NoTerminalCallAndTheExceptionReachesTheUnobservedSweep), StringComparison.Ordinal));
        subscription.Dispose();

        Assert.IsNotNull(unobserved, "the observer's exception was lost: no unobserved task exception carried it");
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, seen);
        Assert.AreEqual(0, Volatile.Read(ref terminal), "the observer's own exception must not come back as OnError (nor OnCompleted)");
    }
}
