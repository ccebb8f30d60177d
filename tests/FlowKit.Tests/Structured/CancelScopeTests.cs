using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Structured;

[TestClass]
public sealed class CancelScopeTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [TestMethod]
    [Timeout(10_000)]
    public async Task MoveOnAfter_BodyCompletesInTime_ReturnsTrue()
    {
        var time = new FakeTimeProvider(Start);
        var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), _ => Task.CompletedTask, time: time);
        Assert.IsTrue(completed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task MoveOnAfter_TimeoutElapses_ReturnsFalseWithoutException()
    {
        var time = new FakeTimeProvider(Start);
        var run = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), ct => Task.Delay(Timeout.Infinite, ct), time: time);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.IsFalse(await run);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task FailAfter_DeadlineElapses_ThrowsTimeoutException_AtExactlyTheDeadlineTick()
    {
        var time = new FakeTimeProvider(Start);
        var run = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(3), async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        }, time: time);
        time.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromTicks(1));
        Assert.IsFalse(run.IsCompleted, "Cancelled one tick before the deadline.");
        time.Advance(TimeSpan.FromTicks(1));
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => run);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task FailAfter_BodyCompletes_ReturnsResult()
    {
        var time = new FakeTimeProvider(Start);
        var result = await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), _ => Task.FromResult(7), time: time);
        Assert.AreEqual(7, result);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task FailAfter_NonGeneric_Throws()
    {
        var time = new FakeTimeProvider(Start);
        var run = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), ct => Task.Delay(Timeout.Infinite, ct), time: time);
        time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => run);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task FailAfter_CallerCancels_OperationCanceledCarriesCallerToken_NotTimeout()
    {
        var time = new FakeTimeProvider(Start);
        using var caller = new CancellationTokenSource();
        var run = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(10), async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        }, caller.Token, time);
        caller.Cancel();
        var thrown = await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => run);
        Assert.AreEqual(caller.Token, thrown.CancellationToken);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task DeadlineForms_MoveOnAt_And_FailAt()
    {
        var time = new FakeTimeProvider(Start);
        var moveOn = CancelScope.MoveOnAtAsync(Start.AddSeconds(2), ct => Task.Delay(Timeout.Infinite, ct), time: time);
        var failAt = CancelScope.FailAtAsync(Start.AddSeconds(2), async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        }, time: time);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.IsFalse(await moveOn);
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => failAt);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task DeadlineInThePast_CancelsAtFirstCheckpoint()
    {
        var time = new FakeTimeProvider(Start);
        var tokenWasCancelled = false;
        var completed = await CancelScope.MoveOnAtAsync(Start.AddSeconds(-1), ct =>
        {
            tokenWasCancelled = ct.IsCancellationRequested;
            ct.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        }, time: time);
        Assert.IsTrue(tokenWasCancelled);
        Assert.IsFalse(completed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void NegativeTimeout_ThrowsArgumentOutOfRange()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(-1), _ => Task.CompletedTask));
        Assert.AreEqual("timeout", ex.ParamName);
        Assert.ThrowsExactly<ArgumentNullException>(() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), null!));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task InfiniteTimeout_NeverFires()
    {
        var time = new FakeTimeProvider(Start);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = CancelScope.MoveOnAfterAsync(Timeout.InfiniteTimeSpan, _ => release.Task, time: time);
        time.Advance(TimeSpan.FromDays(3650));
        Assert.IsFalse(run.IsCompleted);
        release.SetResult();
        Assert.IsTrue(await run);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Cancel_IsIdempotentAndLevelTriggered()
    {
        using var scope = new CancelScope();
        var checkpoints = 0;
        await scope.RunAsync(async ct =>
        {
            scope.Cancel();
            scope.Cancel();
            for (var i = 0; i < 3; i++)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    checkpoints++;
                }
            }

            ct.ThrowIfCancellationRequested();
        });
        Assert.AreEqual(3, checkpoints);
        Assert.IsTrue(scope.CancelledCaught);
        Assert.IsTrue(scope.CancelCalled);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CancelledCaught_FalseWhenBodyIgnoresCancellation()
    {
        using var scope = new CancelScope();
        await scope.RunAsync(_ =>
        {
            scope.Cancel();
            return Task.CompletedTask;
        });
        Assert.IsFalse(scope.CancelledCaught);
        Assert.IsTrue(scope.CancelCalled);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Deadline_CanBeMovedLater_AndEarlier()
    {
        var time = new FakeTimeProvider(Start);
        using var scope = new CancelScope(timeProvider: time) { Deadline = Start.AddSeconds(1) };
        var run = scope.RunAsync(ct => Task.Delay(Timeout.Infinite, ct));
        scope.Deadline = Start.AddSeconds(10);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.IsFalse(run.IsCompleted, "The old deadline still fired.");
        scope.Deadline = Start.AddSeconds(6);
        time.Advance(TimeSpan.FromSeconds(1));
        await run;
        Assert.IsTrue(scope.CancelledCaught);
        Assert.IsTrue(scope.DeadlineReached);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task NestedScopes_InnerTimeoutDoesNotCancelOuterBody()
    {
        var time = new FakeTimeProvider(Start);
        using var outer = new CancelScope(timeProvider: time);
        var innerCompleted = true;
        var outerStillAlive = false;
        var run = outer.RunAsync(async outerToken =>
        {
            var inner = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), ct => Task.Delay(Timeout.Infinite, ct), outerToken, time);
            time.Advance(TimeSpan.FromSeconds(1));
            innerCompleted = await inner;
            outerStillAlive = !outerToken.IsCancellationRequested;
        });
        await run;
        Assert.IsFalse(innerCompleted);
        Assert.IsTrue(outerStillAlive);
        Assert.IsFalse(outer.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task NestedScopes_OuterCancelReachesInside_AndOuterWins()
    {
        using var outer = new CancelScope();
        CancelScope? innerScope = null;
        await outer.RunAsync(async outerToken =>
        {
            using var inner = new CancelScope(outerToken);
            innerScope = inner;

            // Both trigger; the outer one wins: the inner scope does not absorb it.
            inner.Cancel();
            outer.Cancel();
            await inner.RunAsync(ct => Task.Delay(Timeout.Infinite, ct));
        });
        Assert.IsFalse(innerScope!.CancelledCaught);
        Assert.IsTrue(outer.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Shield_BlocksOuterCancellation_ButNotItsOwn()
    {
        using var outerCts = new CancellationTokenSource();
        using var shielded = new CancelScope(outerCts.Token) { Shield = true };
        var cleanupFinished = false;
        await shielded.RunAsync(async ct =>
        {
            outerCts.Cancel();
            Assert.IsFalse(ct.IsCancellationRequested, "The shield let the outer cancellation through.");
            await Task.Yield();
            cleanupFinished = true;
        });
        Assert.IsTrue(cleanupFinished);

        using var own = new CancelScope(outerCts.Token) { Shield = true };
        await own.RunAsync(ct =>
        {
            own.Cancel();
            ct.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        });
        Assert.IsTrue(own.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Shield_TurnedOff_WhileOuterCancelled_AbortsSleepingBody()
    {
        using var outerCts = new CancellationTokenSource();
        using var scope = new CancelScope(outerCts.Token) { Shield = true };
        var sleeping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = scope.RunAsync(async ct =>
        {
            sleeping.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        await sleeping.Task;
        outerCts.Cancel();
        Assert.IsFalse(run.IsCompleted);
        scope.Shield = false;
        var thrown = await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => run);
        Assert.AreEqual(outerCts.Token, thrown.CancellationToken);
        Assert.IsFalse(scope.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task OuterCancellation_PropagatesOutOfRunAsync()
    {
        using var outerCts = new CancellationTokenSource();
        using var scope = new CancelScope(outerCts.Token);
        outerCts.Cancel();
        await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => scope.RunAsync(ct => Task.Delay(Timeout.Infinite, ct)));
        Assert.IsFalse(scope.CancelledCaught);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FiveThousandNestedScopes_CancelWithoutStackOverflow()
    {
        const int depth = 5_000;
        var scopes = new List<CancelScope>(depth);
        var token = CancellationToken.None;
        for (var i = 0; i < depth; i++)
        {
            var scope = new CancelScope(token);
            scopes.Add(scope);
            token = scope.Token;
        }

        var watch = System.Diagnostics.Stopwatch.StartNew();

        // Cancel from a thread-pool thread (smaller stack than the main thread) to make an overflow likelier if there were one.
        await Task.Run(() => scopes[0].Cancel());
        watch.Stop();
        Assert.IsTrue(scopes[^1].Token.IsCancellationRequested);
        Console.WriteLine($"Family 17: cancelled {depth} nested scopes in {watch.Elapsed.TotalMilliseconds:F1} ms");
        foreach (var scope in scopes)
        {
            scope.Dispose();
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task VirtualTime_SleepsOf450Seconds_CompleteFast_AndOnTheTick()
    {
        var time = new FakeTimeProvider(Start);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var offByTick = 0;
        for (var s = 0; s <= 90; s += 10)
        {
            var before = time.GetUtcNow();
            var sleep = Task.Delay(TimeSpan.FromSeconds(s), time);
            if (s > 0)
            {
                time.Advance(TimeSpan.FromSeconds(s) - TimeSpan.FromTicks(1));
                if (sleep.IsCompleted)
                {
                    offByTick++;
                }

                time.Advance(TimeSpan.FromTicks(1));
            }

            await sleep;
            if (time.GetUtcNow() - before != TimeSpan.FromSeconds(s))
            {
                offByTick++;
            }
        }

        watch.Stop();
        Assert.AreEqual(0, offByTick);
        Assert.AreEqual(TimeSpan.FromSeconds(450), time.GetUtcNow() - Start);
        Console.WriteLine($"Family 20: 450 virtual s of sleeps in {watch.Elapsed.TotalMilliseconds:F1} real ms; off-by-tick = {offByTick}");
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Dispose_IsIdempotent_AndStopsTheTimer()
    {
        var time = new FakeTimeProvider(Start);
        var scope = new CancelScope(timeProvider: time) { Deadline = Start.AddSeconds(1) };
        scope.Dispose();
        scope.Dispose();
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.IsFalse(scope.IsCancellationRequested);
        Assert.ThrowsExactly<ObjectDisposedException>(() => scope.Deadline = Start.AddSeconds(3));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CancelAfter_MovesDeadline()
    {
        var time = new FakeTimeProvider(Start);
        using var scope = new CancelScope(timeProvider: time);
        scope.CancelAfter(TimeSpan.FromSeconds(2));
        Assert.AreEqual(Start.AddSeconds(2), scope.Deadline);
        var run = scope.RunAsync(ct => Task.Delay(Timeout.Infinite, ct));
        time.Advance(TimeSpan.FromSeconds(2));
        await run;
        Assert.IsTrue(scope.CancelledCaught);
    }
}
