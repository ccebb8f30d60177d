using System.Diagnostics;
using FlowKit.Testing;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Structured.Upstream;

/// <summary>
/// Trio's cancel-scope cases (trio/_core/_tests/test_run.py), ported to explicit tokens: a Trio checkpoint becomes
/// <c>ct.ThrowIfCancellationRequested()</c> or an await on the token, an ambient enclosing scope becomes the outer token passed to
/// <see cref="CancelScope"/>. Cases that do not apply are listed, with the reason, in docs/structured.md.
/// </summary>
[TestClass]
public sealed class TrioCancelScopeTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_precancel()
    {
        var record = new List<string>();
        using var scope = new CancelScope();
        scope.Cancel();
        await scope.RunAsync(async ct =>
        {
            try
            {
                await Task.Yield();
                ct.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                record.Add("caught");
            }
        });
        CollectionAssert.AreEqual(new[] { "caught" }, record);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_cancel_edge_cases()
    {
        // Cancel before entering: the first checkpoint raises and the scope absorbs it.
        using (var scope = new CancelScope())
        {
            scope.Cancel();
            await scope.RunAsync(ct =>
            {
                ct.ThrowIfCancellationRequested();
                return Task.CompletedTask;
            });
            Assert.IsTrue(scope.CancelledCaught);
        }

        // Cancel twice: idempotent, and level-triggered (every later checkpoint raises).
        using (var scope = new CancelScope())
        {
            await scope.RunAsync(async ct =>
            {
                scope.Cancel();
                scope.Cancel();
                Assert.ThrowsExactly<OperationCanceledException>(() => ct.ThrowIfCancellationRequested());
                await Task.Yield();
                ct.ThrowIfCancellationRequested();
            });
            Assert.IsTrue(scope.CancelledCaught);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_cancel_scope_nesting_outer_wins()
    {
        // Both scopes triggered: the outermost triggered scope catches the cancellation.
        using var outer = new CancelScope();
        using var inner = new CancelScope(outer.Token);
        await outer.RunAsync(async _ =>
        {
            await inner.RunAsync(ct =>
            {
                inner.Cancel();
                outer.Cancel();
                ct.ThrowIfCancellationRequested();
                return Task.CompletedTask;
            });
        });
        Assert.IsTrue(outer.CancelledCaught);
        Assert.IsFalse(inner.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_cancel_inheritance()
    {
        // An outer cancel reaches a scope nested inside it, which lets it through to the outer scope.
        using var outer = new CancelScope();
        var record = new List<string>();
        await outer.RunAsync(async outerToken =>
        {
            using var inner = new CancelScope(outerToken);
            await inner.RunAsync(async ct =>
            {
                outer.Cancel();
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    record.Add("inner cancelled");
                    throw;
                }
            });
        });
        CollectionAssert.AreEqual(new[] { "inner cancelled" }, record);
        Assert.IsTrue(outer.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_cancel_shielding()
    {
        using var outer = new CancelScope();
        await outer.RunAsync(async outerToken =>
        {
            using var inner = new CancelScope(outerToken);
            await inner.RunAsync(async ct =>
            {
                Assert.IsFalse(inner.Shield);
                inner.Shield = true;
                outer.Cancel();

                // The shield protects the body from 'outer'.
                await Task.Yield();
                ct.ThrowIfCancellationRequested();

                // ...but not from a scope inside the shielded one.
                using (var innerest = new CancelScope(ct))
                {
                    await innerest.RunAsync(innerestToken =>
                    {
                        innerest.Cancel();
                        innerestToken.ThrowIfCancellationRequested();
                        return Task.CompletedTask;
                    });
                    Assert.IsTrue(innerest.CancelledCaught);
                }

                ct.ThrowIfCancellationRequested();

                // Disabling the shield lets the outer cancellation in.
                inner.Shield = false;
                Assert.ThrowsExactly<OperationCanceledException>(() => ct.ThrowIfCancellationRequested());
            });

            // The outer cancellation propagated through 'inner' (not absorbed by it) and 'outer' catches it below.
            Assert.IsFalse(inner.CancelledCaught);
            outerToken.ThrowIfCancellationRequested();
        });
        Assert.IsTrue(outer.CancelledCaught);

        // The shield does not protect a scope from its own cancel.
        using var own = new CancelScope { Shield = true };
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
    public async Task Trio_test_cancel_shield_abort()
    {
        // The outer scope is cancelled first; the shielded scope is created inside it afterwards (shield set in the initializer).
        using var outer = new CancelScope();
        outer.Cancel();
        var record = new List<string>();
        await outer.RunAsync(async outerToken =>
        {
            using var shielded = new CancelScope(outerToken) { Shield = true };
            await shielded.RunAsync(async ct =>
            {
                var sleeping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var sleeper = Task.Run(async () =>
                {
                    record.Add("sleeping");
                    sleeping.SetResult();
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    catch (OperationCanceledException)
                    {
                        record.Add("cancelled");
                    }
                });
                await sleeping.Task;
                await Task.Yield();
                Assert.IsFalse(sleeper.IsCompleted, "The shield did not protect the sleeper from the outer cancellation.");
                CollectionAssert.AreEqual(new[] { "sleeping" }, record);

                // Unshielding aborts the sleep.
                shielded.Shield = false;
                await sleeper;
                CollectionAssert.AreEqual(new[] { "sleeping", "cancelled" }, record);
            });
            outerToken.ThrowIfCancellationRequested();
        });
        Assert.IsTrue(outer.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_cancel_shield_abort_plain_token()
    {
        // The same with a plain CancellationToken that was cancelled before the shielded scope existed.
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        using var shielded = new CancelScope(cts.Token) { Shield = true };
        var ranUncancelled = false;
        await shielded.RunAsync(async ct =>
        {
            await Task.Yield();
            ranUncancelled = !ct.IsCancellationRequested;
        });
        Assert.IsTrue(ranUncancelled, "A shielded scope created inside an already-cancelled token ran its body cancelled.");
        Assert.IsFalse(shielded.IsCancellationRequested);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_unshield_while_cancel_propagating()
    {
        using var outer = new CancelScope();
        await outer.RunAsync(async outerToken =>
        {
            using var inner = new CancelScope(outerToken);
            var run = inner.RunAsync(ct =>
            {
                outer.Cancel();
                ct.ThrowIfCancellationRequested();
                return Task.CompletedTask;
            });
            inner.Shield = true;
            await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => run);
            outerToken.ThrowIfCancellationRequested();
        });
        Assert.IsTrue(outer.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_cancel_scope_deadline_duplicates()
    {
        // Moving the deadline back and forth many times leaves exactly one live deadline, the last one.
        var time = new FakeTimeProvider();
        using var scope = new CancelScope(timeProvider: time);
        var run = scope.RunAsync(ct => Task.Delay(Timeout.Infinite, ct));
        var now = time.GetUtcNow();
        for (var i = 0; i < 50; i++)
        {
            scope.Deadline = now + TimeSpan.FromSeconds(i % 2 == 0 ? 1 : 2);
        }

        scope.Deadline = now + TimeSpan.FromSeconds(3);
        time.Advance(TimeSpan.FromSeconds(2.5));
        Assert.IsFalse(scope.IsCancellationRequested);
        time.Advance(TimeSpan.FromSeconds(0.5));
        await run;
        Assert.IsTrue(scope.CancelledCaught && scope.DeadlineReached);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_cancel_scope_deadline_in_the_past_and_unbounded()
    {
        var time = new FakeTimeProvider();
        using var past = new CancelScope(timeProvider: time) { Deadline = time.GetUtcNow() - TimeSpan.FromSeconds(1) };
        Assert.IsTrue(past.IsCancellationRequested && past.CancelCalled);
        using var never = new CancelScope(timeProvider: time);
        Assert.AreEqual(DateTimeOffset.MaxValue, never.Deadline);
        time.Advance(TimeSpan.FromDays(10_000));
        Assert.IsFalse(never.IsCancellationRequested);
        await past.RunAsync(ct =>
        {
            ct.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        });
        Assert.IsTrue(past.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_cancel_scope_cancel_called_and_cancelled_caught()
    {
        using var scope = new CancelScope();
        Assert.IsFalse(scope.CancelCalled);
        await scope.RunAsync(_ => Task.CompletedTask);
        Assert.IsFalse(scope.CancelledCaught);
        scope.Cancel();
        Assert.IsTrue(scope.CancelCalled);

        // A cancel that the body never observes is not caught.
        using var ignored = new CancelScope();
        await ignored.RunAsync(_ =>
        {
            ignored.Cancel();
            return Task.CompletedTask;
        });
        Assert.IsTrue(ignored.CancelCalled);
        Assert.IsFalse(ignored.CancelledCaught);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Trio_test_many_nested_scopes_cancel_without_stack_overflow()
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

        var watch = Stopwatch.StartNew();
        scopes[0].Cancel();
        Assert.IsTrue(scopes[^1].IsCancellationRequested);
        foreach (var scope in scopes)
        {
            scope.Dispose();
        }

        await Task.CompletedTask;
        Assert.IsLessThan(TimeSpan.FromSeconds(10), watch.Elapsed);
    }
}

/// <summary>Trio's trio/_tests/test_timeouts.py, on a virtual clock (FakeTimeProvider or FlowKit's autojump <see cref="VirtualClock"/>).</summary>
[TestClass]
public sealed class TrioTimeoutsTests
{
    private static readonly TimeSpan Target = TimeSpan.FromSeconds(1);

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_sleep()
    {
        var clock = new VirtualClock();
        var elapsed = await clock.RunUntilCompleteAsync(Task.Delay(Target, clock));
        Assert.AreEqual(Target, elapsed);

        // sleep_until: an absolute instant.
        var until = clock.GetUtcNow() + Target;
        elapsed = await clock.RunUntilCompleteAsync(Task.Delay(until - clock.GetUtcNow(), clock));
        Assert.AreEqual(Target, elapsed);
        Assert.AreEqual(until, clock.GetUtcNow());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_move_on_after()
    {
        var clock = new VirtualClock();
        var run = CancelScope.MoveOnAfterAsync(Target, ct => Task.Delay(Target * 2, clock, ct), time: clock);
        var elapsed = await clock.RunUntilCompleteAsync(run);
        Assert.IsFalse(await run);
        Assert.AreEqual(Target, elapsed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_move_on_after_completes_in_time()
    {
        var clock = new VirtualClock();
        var run = CancelScope.MoveOnAfterAsync(Target * 2, ct => Task.Delay(Target, clock, ct), time: clock);
        var elapsed = await clock.RunUntilCompleteAsync(run);
        Assert.IsTrue(await run);
        Assert.AreEqual(Target, elapsed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_fail()
    {
        var clock = new VirtualClock();
        var fail = CancelScope.FailAfterAsync(Target, ct => Task.Delay(Timeout.InfiniteTimeSpan, clock, ct), time: clock);
        var elapsed = await clock.RunUntilCompleteAsync(fail);
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => fail);
        Assert.AreEqual(Target, elapsed);

        // A body that finishes in time returns its value.
        var ok = CancelScope.FailAfterAsync(Target, async ct =>
        {
            await Task.Delay(Target / 2, clock, ct);
            return "ok";
        }, time: clock);
        await clock.RunUntilCompleteAsync(ok);
        Assert.AreEqual("ok", await ok);

        // fail_at with an absolute deadline.
        var at = CancelScope.FailAtAsync(clock.GetUtcNow() + Target, async ct =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, clock, ct);
            return 0;
        }, time: clock);
        await clock.RunUntilCompleteAsync(at);
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => at);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_timeouts_raise_value_error()
    {
        // Trio raises ValueError for a negative timeout; FlowKit throws ArgumentOutOfRangeException, before running the body.
        var ran = false;
        await Assert.ThrowsExactlyAsync<ArgumentOutOfRangeException>(() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(-1), _ =>
        {
            ran = true;
            return Task.CompletedTask;
        }));
        await Assert.ThrowsExactlyAsync<ArgumentOutOfRangeException>(() => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(-1), _ =>
        {
            ran = true;
            return Task.FromResult(0);
        }));
        Assert.IsFalse(ran);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_timeout_zero_and_deadline_in_the_past_cancel_at_first_checkpoint()
    {
        var time = new FakeTimeProvider();
        Assert.IsFalse(await CancelScope.MoveOnAfterAsync(TimeSpan.Zero, ct =>
        {
            ct.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        }, time: time));
        Assert.IsFalse(await CancelScope.MoveOnAtAsync(time.GetUtcNow() - Target, ct =>
        {
            ct.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        }, time: time));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_fail_after_fails_even_if_shielded()
    {
        // fail_after(shield=True): the outer cancellation does not reach the body, its own deadline still fires.
        var time = new FakeTimeProvider();
        using var outer = new CancellationTokenSource();
        outer.Cancel();
        using var scope = new CancelScope(outer.Token, time) { Shield = true, Deadline = time.GetUtcNow() + Target };
        var run = scope.RunAsync(ct => Task.Delay(Timeout.InfiniteTimeSpan, time, ct));
        Assert.IsFalse(run.IsCompleted, "The shield let the outer cancellation in.");
        time.Advance(Target);
        await run;
        Assert.IsTrue(scope.DeadlineReached && scope.CancelledCaught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_timeout_deadline_on_entry()
    {
        // The deadline of a relative timeout counts from the call, on the scope's clock.
        var time = new FakeTimeProvider();
        using var scope = new CancelScope(timeProvider: time);
        var before = time.GetUtcNow();
        scope.CancelAfter(Target);
        Assert.AreEqual(before + Target, scope.Deadline);
        time.Advance(Target / 2);
        scope.CancelAfter(Target);
        Assert.AreEqual(before + (Target * 1.5), scope.Deadline);
        await Task.CompletedTask;
    }
}
