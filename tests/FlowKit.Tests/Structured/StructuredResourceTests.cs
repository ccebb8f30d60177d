namespace FlowKit.Tests.Structured;

/// <summary>Cancellation sources are released when a nursery or a scope is done, and a child started through a closed loop's context
/// still runs (and the nursery drains).</summary>
[TestClass]
public sealed class StructuredResourceTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task Nursery_Finished_ReleasesItsCancellationSource_TokenKeepsItsState()
    {
        Nursery? nursery = null;
        CancellationToken token = default;
        await Nursery.RunAsync(n =>
        {
            nursery = n;
            token = n.CancellationToken;
            _ = token.WaitHandle;   // allocates the OS event that only disposing the source frees
            return Task.CompletedTask;
        });
        Assert.ThrowsExactly<ObjectDisposedException>(() => _ = token.WaitHandle);
        Assert.AreEqual(token, nursery!.CancellationToken);
        Assert.IsFalse(nursery.IsCancellationRequested);
        nursery.Cancel();   // after the end: does nothing, does not throw
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CancelScope_Disposed_ReleasesItsCancellationSource_TokenKeepsItsState()
    {
        var scope = new CancelScope();
        var token = scope.Token;
        _ = token.WaitHandle;
        await scope.RunAsync(_ =>
        {
            scope.Cancel();
            return Task.CompletedTask;
        });
        scope.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => _ = token.WaitHandle);
        Assert.IsTrue(token.IsCancellationRequested);
        Assert.IsTrue(scope.IsCancellationRequested);
        Assert.AreEqual(token, scope.Token);
        scope.Cancel();
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StartSoon_ThroughAClosedOrStoppedLoopContext_ChildRuns_NurseryDrains()
    {
        for (var i = 0; i < 200; i++)
        {
            var loop = new EventLoop();
            var context = loop.SynchronizationContext;
            var ran = 0;
            var closeFirst = i % 2 == 0;
            if (closeFirst)
            {
                loop.Dispose();
            }

            var previous = SynchronizationContext.Current;
            Task run;
            SynchronizationContext.SetSynchronizationContext(context);
            try
            {
                run = Nursery.RunAsync(n =>
                {
                    n.StartSoon(_ =>
                    {
                        Interlocked.Increment(ref ran);
                        return Task.CompletedTask;
                    });
                    _ = n.StartAsync<int>((status, _) =>
                    {
                        Interlocked.Increment(ref ran);
                        status.Started(0);
                        return Task.CompletedTask;
                    });
                    return Task.CompletedTask;
                });
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(previous);
            }

            // Queued on a loop that never runs again, then closed: the children still run, on the thread pool.
            loop.Dispose();
            var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(5)));
            Assert.AreSame(run, finished, $"Iteration {i}: the nursery never drained (a child queued on the loop was dropped).");
            await run;
            Assert.AreEqual(2, ran);
        }
    }
}
