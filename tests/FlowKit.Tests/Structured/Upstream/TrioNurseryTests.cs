using FlowKit.Testing;

namespace FlowKit.Tests.Structured.Upstream;

/// <summary>
/// Trio's nursery cases (trio/_core/_tests/test_run.py), ported: <c>async with open_nursery()</c> becomes <see cref="Nursery.RunAsync(Func{Nursery, Task}, CancellationToken)"/>,
/// a cancelled enclosing scope becomes the token passed to <see cref="Nursery.StartAsync{T}"/>, <c>MultiError</c>/<c>ExceptionGroup</c>
/// becomes <see cref="AggregateException"/>, and Trio's autojump <c>MockClock</c> becomes <see cref="VirtualClock"/>.
/// </summary>
[TestClass]
public sealed class TrioNurseryTests
{
    // Trio's MockClock jumps only when every task is blocked. VirtualClock knows that exactly for work on an attached EventLoop, so these
    // cases run their nursery on one (children queued by StartSoon/StartAsync then run on the loop too), not on the thread pool.
    private static async Task RunOnVirtualLoopAsync(VirtualClock clock, Func<Task> body)
    {
        using var loop = new EventLoop(clock);
        clock.Attach(loop);
        var runner = Task.Factory.StartNew(loop.RunForever, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        SpinWait.SpinUntil(() => loop.IsRunning);
        var task = loop.CreateTask(body);
        await clock.RunUntilCompleteAsync(task);
        loop.Stop();
        await runner;
        await task;
    }

    private static Func<StartStatus<int>, CancellationToken, Task> SleepThenStart(VirtualClock clock, int seconds) => async (status, ct) =>
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds), clock, ct);
        status.Started(seconds);
        await Task.Delay(TimeSpan.FromSeconds(seconds), clock, ct);
    };

    [TestMethod]
    [Timeout(10_000)]
    [DataRow(1)]
    [DataRow(2)]
    public async Task Trio_test_nursery_start_happy_path(int seconds)
    {
        // start waits for the child to call started(), returns its value, and the nursery then waits for the child to exit.
        var clock = new VirtualClock();
        var t0 = clock.GetUtcNow();
        await RunOnVirtualLoopAsync(clock, () => Nursery.RunAsync(async n =>
        {
            Assert.AreEqual(0, n.GetStatistics().LiveChildren);
            Assert.AreEqual(seconds, await n.StartAsync(SleepThenStart(clock, seconds)));
            Assert.AreEqual(TimeSpan.FromSeconds(seconds), clock.GetUtcNow() - t0);
            Assert.AreEqual(1, n.GetStatistics().LiveChildren);
        }));
        Assert.AreEqual(TimeSpan.FromSeconds(2 * seconds), clock.GetUtcNow() - t0);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_started_twice()
    {
        Exception? second = null;
        await Nursery.RunAsync(async n => await n.StartAsync<int>((status, _) =>
        {
            status.Started(1);
            second = Assert.ThrowsExactly<InvalidOperationException>(() => status.Started(2));
            return Task.CompletedTask;
        }));
        Assert.IsNotNull(second);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_child_crashes_before_started()
    {
        // The error comes out of start(), and the nursery does not report it again.
        await Nursery.RunAsync(async n =>
        {
            await Assert.ThrowsExactlyAsync<KeyNotFoundException>(() => n.StartAsync<int>((_, _) => throw new KeyNotFoundException("oops")));
        });
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_child_exits_without_started()
    {
        await Nursery.RunAsync(async n =>
        {
            var ex = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => n.StartAsync<int>((_, _) => Task.CompletedTask));
            StringAssert.Contains(ex.Message, "without calling status.Started");
        });
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_cancelled_call_started_is_a_noop_and_start_raises_cancelled()
    {
        // The call to start() is cancelled: started() does nothing, the child keeps running under start(), start() raises Cancelled,
        // and the nursery is unaffected.
        using var cs = new CancellationTokenSource();
        cs.Cancel();
        var childSawCancelledToken = false;
        await Nursery.RunAsync(async n =>
        {
            var start = n.StartAsync<string>(async (status, ct) =>
            {
                status.Started("hi");
                childSawCancelledToken = ct.IsCancellationRequested;
                await Task.Yield();
                ct.ThrowIfCancellationRequested();
            }, cs.Token);
            var thrown = await Assert.ThrowsAsync<OperationCanceledException>(() => start);
            Assert.AreEqual(cs.Token, thrown.CancellationToken);
            Assert.IsFalse(n.IsCancellationRequested, "The cancelled start must not cancel the nursery.");
        });
        Assert.IsTrue(childSawCancelledToken);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_cancelled_call_child_without_checkpoint_returns_value()
    {
        // But if the child executes no checkpoint and exits, start() does not raise: the child completed successfully.
        using var cs = new CancellationTokenSource();
        cs.Cancel();
        await Nursery.RunAsync(async n =>
        {
            Assert.AreEqual("done", await n.StartAsync<string>((status, _) =>
            {
                status.Started("done");
                return Task.CompletedTask;
            }, cs.Token));
        });
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_cancelled_call_child_crashes_after_started()
    {
        // After the no-op started(), the child crashes: the error comes out of start(), not out of the nursery.
        using var cs = new CancellationTokenSource();
        cs.Cancel();
        await Nursery.RunAsync(async n =>
        {
            await Assert.ThrowsExactlyAsync<KeyNotFoundException>(() => n.StartAsync<int>((status, _) =>
            {
                status.Started(0);
                throw new KeyNotFoundException("whoopsiedaisy");
            }, cs.Token));
        });
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_cancelled_while_waiting_for_started()
    {
        // The caller's token is cancelled while the child is still getting ready: start() raises, the nursery goes on.
        using var cs = new CancellationTokenSource();
        var siblingFinished = false;
        await Nursery.RunAsync(async n =>
        {
            n.StartSoon(async _ =>
            {
                await Task.Yield();
                siblingFinished = true;
            });
            var start = n.StartAsync<int>(async (status, ct) =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                status.Started(1);
            }, cs.Token);
            cs.Cancel();
            await Assert.ThrowsAsync<OperationCanceledException>(() => start);
        });
        Assert.IsTrue(siblingFinished);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_in_closed_nursery_raises_at_once()
    {
        Nursery? closed = null;
        await Nursery.RunAsync(n =>
        {
            closed = n;
            return Task.CompletedTask;
        });
        var ran = false;
        Assert.ThrowsExactly<InvalidOperationException>(() => closed!.StartAsync<int>((_, _) =>
        {
            ran = true;
            return Task.CompletedTask;
        }));
        Assert.IsFalse(ran);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_start_keeps_nursery_open()
    {
        // Two start() calls running in the background keep the target nursery open until their children, placed into it when they call
        // started(), have finished: 1 + 2 + 3 seconds.
        var clock = new VirtualClock();
        var t0 = clock.GetUtcNow();
        DateTimeOffset t1 = default;
        await RunOnVirtualLoopAsync(clock, () => Nursery.RunAsync(async nursery1 =>
        {
            await Nursery.RunAsync(async nursery2 =>
            {
                Func<StartStatus, CancellationToken, Task> sleepABit = async (status, ct) =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), clock, ct);
                    status.Started();
                    await Task.Delay(TimeSpan.FromSeconds(3), clock, ct);
                };
                nursery1.StartSoon(_ => nursery2.StartAsync(sleepABit));
                await Task.Delay(TimeSpan.FromSeconds(1), clock);
                nursery1.StartSoon(_ => nursery2.StartAsync(sleepABit));
            });
            t1 = clock.GetUtcNow();
        }));
        Assert.AreEqual(TimeSpan.FromSeconds(1 + 2 + 3), t1 - t0);
    }

    [TestMethod]
    [Timeout(10_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task Trio_test_nursery_start_with_cancelled_nursery(bool cancelJustBeforeStarted)
    {
        // The target nursery is cancelled just before (or just after) a child calls started() while its own children are asleep:
        // the sleeping grandchildren are cancelled and nothing hangs.
        await Nursery.RunAsync(async nursery =>
        {
            var setup = new TaskCompletionSource<Nursery>(TaskCreationOptions.RunContinuationsAsynchronously);
            nursery.StartSoon(ct => Nursery.RunAsync(target =>
            {
                setup.SetResult(target);
                return Task.Delay(Timeout.Infinite, target.CancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }, ct));
            var target = await setup.Task;
            await target.StartAsync(async (status, ct) => await Nursery.RunAsync(async inner =>
            {
                var asleep = new CountdownEvent(2);
                inner.StartSoon(c => SleepForever(asleep, c));
                inner.StartSoon(c => SleepForever(asleep, c));
                asleep.Wait();
                if (cancelJustBeforeStarted)
                {
                    target.Cancel();
                }

                status.Started();
                await Task.Yield();
            }, ct));
            if (!cancelJustBeforeStarted)
            {
                target.Cancel();
            }
        });

        static async Task SleepForever(CountdownEvent asleep, CancellationToken ct)
        {
            asleep.Signal();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_child_crash_basic()
    {
        var boom = new InvalidOperationException("boom");
        var thrown = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(_ => throw boom);
            return Task.CompletedTask;
        }));
        Assert.AreSame(boom, thrown);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_basic_interleave()
    {
        var clock = new VirtualClock();
        var record = new List<(string, int)>();
        var gate = new object();
        Func<CancellationToken, Task> looper(string whoami) => async ct =>
        {
            for (var i = 0; i < 3; i++)
            {
                lock (gate)
                {
                    record.Add((whoami, i));
                }

                await Task.Delay(TimeSpan.FromSeconds(1), clock, ct);
            }
        };
        await RunOnVirtualLoopAsync(clock, () => Nursery.RunAsync(n =>
        {
            n.StartSoon(looper("a"));
            n.StartSoon(looper("b"));
            return Task.CompletedTask;
        }));
        CollectionAssert.AreEquivalent(new[] { ("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2) }, record);
        for (var step = 0; step < 3; step++)
        {
            CollectionAssert.AreEquivalent(new[] { ("a", step), ("b", step) }, record.Skip(step * 2).Take(2).ToList());
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_child_crash_propagation()
    {
        var looperRecord = new List<string>();
        var thrown = await Assert.ThrowsExactlyAsync<ArgumentException>(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(async ct =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    looperRecord.Add("cancelled");
                    throw;
                }
            });
            n.StartSoon(async _ =>
            {
                await Task.Yield();
                throw new ArgumentException("argh");
            });
            return Task.CompletedTask;
        }));
        Assert.AreEqual("argh", thrown.Message);
        CollectionAssert.AreEqual(new[] { "cancelled" }, looperRecord);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_main_and_task_both_crash()
    {
        var thrown = await Assert.ThrowsExactlyAsync<AggregateException>(() => Nursery.RunAsync(async n =>
        {
            var crashed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            n.StartSoon(_ =>
            {
                crashed.SetResult();
                throw new ArgumentException("child");
            });
            await crashed.Task;
            throw new KeyNotFoundException("main");
        }));
        CollectionAssert.AreEquivalent(new[] { typeof(ArgumentException), typeof(KeyNotFoundException) },
            thrown.InnerExceptions.Select(e => e.GetType()).ToList());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_two_child_crashes()
    {
        var both = new Barrier(2);
        var thrown = await Assert.ThrowsExactlyAsync<AggregateException>(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(_ => Task.Run(() =>
            {
                both.SignalAndWait();
                throw new KeyNotFoundException("a");
            }));
            n.StartSoon(_ => Task.Run(() =>
            {
                both.SignalAndWait();
                throw new ArgumentException("b");
            }));
            return Task.CompletedTask;
        }));
        CollectionAssert.AreEquivalent(new[] { typeof(KeyNotFoundException), typeof(ArgumentException) },
            thrown.InnerExceptions.Select(e => e.GetType()).ToList());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_child_crash_wakes_parent()
    {
        await Assert.ThrowsExactlyAsync<ArgumentException>(() => Nursery.RunAsync(async n =>
        {
            n.StartSoon(_ => throw new ArgumentException());
            await Task.Delay(Timeout.Infinite, n.CancellationToken);
        }));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nested_nurseries()
    {
        var record = new List<string>();
        await Nursery.RunAsync(async outer =>
        {
            await Nursery.RunAsync(inner =>
            {
                inner.StartSoon(async _ =>
                {
                    await Task.Yield();
                    lock (record)
                    {
                        record.Add("inner child");
                    }
                });
                return Task.CompletedTask;
            }, outer.CancellationToken);
            lock (record)
            {
                record.Add("inner done");
            }
        });
        CollectionAssert.AreEqual(new[] { "inner child", "inner done" }, record);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_precancelled_nursery_child_starts_and_is_cancelled_at_first_block()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var started = false;
        await Assert.ThrowsAsync<OperationCanceledException>(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(async ct =>
            {
                started = true;
                await Task.Delay(Timeout.Infinite, ct);
            });
            return Task.CompletedTask;
        }, cts.Token));
        Assert.IsTrue(started);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_nursery_cancel_scope_cancel_returns_normally()
    {
        // Cancelling the nursery's own scope (nursery.cancel_scope.cancel()) is not an error.
        await Nursery.RunAsync(n =>
        {
            n.StartSoon(ct => Task.Delay(Timeout.Infinite, ct));
            n.StartSoon(ct => Task.Delay(Timeout.Infinite, ct));
            n.Cancel();
            return Task.CompletedTask;
        });
    }
}
