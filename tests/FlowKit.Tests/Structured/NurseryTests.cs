using System.Runtime.CompilerServices;

namespace FlowKit.Tests.Structured;

[TestClass]
public sealed class NurseryTests
{
    private const int Iterations = 200;

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunAsync_ReturnsOnlyWhenEveryChildHasFinished()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var started = new CountdownEvent(3);
            var finished = 0;
            var run = Nursery.RunAsync(n =>
            {
                for (var c = 0; c < 3; c++)
                {
                    n.StartSoon(async _ =>
                    {
                        started.Signal();
                        await release.Task;
                        Interlocked.Increment(ref finished);
                    });
                }

                return Task.CompletedTask;
            });

            started.Wait();
            Assert.IsFalse(run.IsCompleted, "RunAsync returned while children were still running.");
            release.SetResult();
            await run;
            Assert.AreEqual(3, finished);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunAsync_ChildStartsGrandchildren_WaitsForAll()
    {
        var finished = 0;
        await Nursery.RunAsync(n =>
        {
            n.StartSoon(async _ =>
            {
                await Task.Yield();
                for (var g = 0; g < 10; g++)
                {
                    n.StartSoon(async _ =>
                    {
                        await Task.Yield();
                        Interlocked.Increment(ref finished);
                    });
                }
            });
            return Task.CompletedTask;
        });
        Assert.AreEqual(10, finished);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunAsync_NestedNurseries_InnerFinishesBeforeOuterReturns()
    {
        var order = new List<string>();
        await Nursery.RunAsync(async outer =>
        {
            await Nursery.RunAsync(inner =>
            {
                inner.StartSoon(async _ =>
                {
                    await Task.Yield();
                    lock (order)
                    {
                        order.Add("inner child");
                    }
                });
                return Task.CompletedTask;
            }, outer.CancellationToken);
            lock (order)
            {
                order.Add("after inner");
            }
        });
        CollectionAssert.AreEqual(new[] { "inner child", "after inner" }, order);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ChildFails_SiblingsAndBodyCancelled_SameExceptionRethrown()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var boom = new InvalidOperationException("boom");
            var siblingCancelled = false;
            var bodyCancelled = false;
            var thrown = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => Nursery.RunAsync(async n =>
            {
                n.StartSoon(async ct =>
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    catch (OperationCanceledException)
                    {
                        siblingCancelled = true;
                        throw;
                    }
                });
                n.StartSoon(async _ =>
                {
                    await Task.Yield();
                    throw boom;
                });
                try
                {
                    await Task.Delay(Timeout.Infinite, n.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    bodyCancelled = true;
                    throw;
                }
            }));
            Assert.AreSame(boom, thrown);
            Assert.IsTrue(siblingCancelled);
            Assert.IsTrue(bodyCancelled);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SingleFailure_StackTraceOfOriginalThrowIsPreserved()
    {
        var thrown = await Assert.ThrowsExactlyAsync<FormatException>(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(_ => ThrowFromNamedMethodAsync());
            return Task.CompletedTask;
        }));
        StringAssert.Contains(thrown.StackTrace, nameof(ThrowFromNamedMethodAsync));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task TwoChildrenFail_AggregateHoldsBothInstances()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var a = new InvalidOperationException("a");
            var b = new ArgumentException("b");
            var bothThrowing = new Barrier(2);
            var thrown = await Assert.ThrowsExactlyAsync<AggregateException>(() => Nursery.RunAsync(n =>
            {
                n.StartSoon(_ => Task.Run(() =>
                {
                    bothThrowing.SignalAndWait();
                    throw a;
                }));
                n.StartSoon(_ => Task.Run(() =>
                {
                    bothThrowing.SignalAndWait();
                    throw b;
                }));
                return Task.CompletedTask;
            }));
            Assert.HasCount(2, thrown.InnerExceptions);
            CollectionAssert.AreEquivalent(new Exception[] { a, b }, thrown.InnerExceptions.ToArray());
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task BodyAndChildFail_BothReported()
    {
        var child = new InvalidOperationException("child");
        var body = new FormatException("body");
        var childThrown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thrown = await Assert.ThrowsExactlyAsync<AggregateException>(() => Nursery.RunAsync(async n =>
        {
            n.StartSoon(_ =>
            {
                childThrown.SetResult();
                throw child;
            });

            // The body ignores cancellation and fails on its own.
            await childThrown.Task;
            throw body;
        }));
        CollectionAssert.AreEquivalent(new Exception[] { child, body }, thrown.InnerExceptions.ToArray());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ChildThrowsSynchronously_IsAFailureOfTheNursery()
    {
        var boom = new InvalidOperationException("sync");
        var thrown = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(_ => throw boom);
            return Task.CompletedTask;
        }));
        Assert.AreSame(boom, thrown);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task BodyThrowsSynchronously_ChildrenAreCancelledAndAwaited()
    {
        var boom = new InvalidOperationException("sync body");
        var childStopped = false;
        var thrown = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(async ct =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                finally
                {
                    childStopped = true;
                }
            });
            throw boom;
        }));
        Assert.AreSame(boom, thrown);
        Assert.IsTrue(childStopped);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CancellationOfUnrelatedToken_IsReportedAsFailure()
    {
        using var own = new CancellationTokenSource();
        own.Cancel();
        var thrown = await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(_ => Task.Delay(Timeout.Infinite, own.Token));
            return Task.CompletedTask;
        }));
        Assert.AreEqual(own.Token, thrown.CancellationToken);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task OuterTokenCancelled_EverythingStops_ThrowsOperationCanceled()
    {
        for (var i = 0; i < Iterations; i++)
        {
            using var cts = new CancellationTokenSource();
            var started = new CountdownEvent(4);
            var stopped = 0;
            var run = Nursery.RunAsync(async n =>
            {
                for (var c = 0; c < 3; c++)
                {
                    n.StartSoon(async ct =>
                    {
                        started.Signal();
                        try
                        {
                            await Task.Delay(Timeout.Infinite, ct);
                        }
                        finally
                        {
                            Interlocked.Increment(ref stopped);
                        }
                    });
                }

                started.Signal();
                await Task.Delay(Timeout.Infinite, n.CancellationToken);
            }, cts.Token);
            started.Wait();
            cts.Cancel();
            var thrown = await Assert.ThrowsAsync<OperationCanceledException>(() => run);
            Assert.AreEqual(cts.Token, thrown.CancellationToken);
            Assert.AreEqual(3, stopped);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task PrecancelledToken_BodyStillRuns_ChildSeesCancellation_Throws()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var bodyRan = false;
        var childSawCancellation = false;
        await Assert.ThrowsAsync<OperationCanceledException>(() => Nursery.RunAsync(n =>
        {
            bodyRan = true;
            n.StartSoon(ct =>
            {
                childSawCancellation = ct.IsCancellationRequested;
                return Task.CompletedTask;
            });
            return Task.CompletedTask;
        }, cts.Token));
        Assert.IsTrue(bodyRan);
        Assert.IsTrue(childSawCancellation);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Cancel_StopsBodyAndChildren_RunAsyncReturnsNormally()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var stopped = 0;
            await Nursery.RunAsync(async n =>
            {
                for (var c = 0; c < 3; c++)
                {
                    n.StartSoon(async ct =>
                    {
                        try
                        {
                            await Task.Delay(Timeout.Infinite, ct);
                        }
                        finally
                        {
                            Interlocked.Increment(ref stopped);
                        }
                    });
                }

                n.Cancel();
                await Task.Delay(Timeout.Infinite, n.CancellationToken);
            });
            Assert.AreEqual(3, stopped);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunAsyncOfT_ReturnsBodyResultAfterChildren()
    {
        var childDone = false;
        var result = await Nursery.RunAsync(async n =>
        {
            n.StartSoon(async _ =>
            {
                await Task.Yield();
                childDone = true;
            });
            await Task.Yield();
            return 42;
        });
        Assert.AreEqual(42, result);
        Assert.IsTrue(childDone);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunAsyncOfT_CancelledBeforeResult_ThrowsOperationCanceled()
    {
        await Assert.ThrowsAsync<OperationCanceledException>(() => Nursery.RunAsync<int>(async n =>
        {
            n.Cancel();
            await Task.Delay(Timeout.Infinite, n.CancellationToken);
            return 1;
        }));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartSoon_AfterNurseryClosed_ThrowsInvalidOperation()
    {
        Nursery? escaped = null;
        await Nursery.RunAsync(n =>
        {
            escaped = n;
            return Task.CompletedTask;
        });
        Assert.IsTrue(escaped!.IsClosed);
        var thrown = Assert.ThrowsExactly<InvalidOperationException>(() => escaped.StartSoon(_ => Task.CompletedTask));
        StringAssert.Contains(thrown.Message, "closed");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task NullArguments_ThrowArgumentNull()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => Nursery.RunAsync(null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => Nursery.RunAsync<int>(null!));
        await Nursery.RunAsync(n =>
        {
            Assert.ThrowsExactly<ArgumentNullException>(() => n.StartSoon(null!));
            Assert.ThrowsExactly<ArgumentNullException>(() => n.StartAsync<int>(null!));
            return Task.CompletedTask;
        });
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartAsync_ReturnsStartedValue_ChildKeepsRunningInNursery()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var childFinished = false;
            Task? run = null;
            run = Nursery.RunAsync(async n =>
            {
                var port = await n.StartAsync<int>(async (status, ct) =>
                {
                    await Task.Yield();
                    status.Started(8080);
                    await release.Task;
                    childFinished = true;
                });
                Assert.AreEqual(8080, port);
                Assert.IsFalse(childFinished);
                release.SetResult();
            });
            await run;
            Assert.IsTrue(childFinished);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartAsync_ChildFailsBeforeStarted_CallerGetsExceptionOnce()
    {
        var boom = new InvalidOperationException("failed before started");
        var thrown = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => Nursery.RunAsync(async n =>
        {
            await n.StartAsync<int>(async (_, _) =>
            {
                await Task.Yield();
                throw boom;
            });
        }));

        // One failure, rethrown as is: had the nursery reported it too, this would be an AggregateException of two.
        Assert.AreSame(boom, thrown);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartAsync_ChildFailsBeforeStarted_BodyCatches_NurseryCompletes()
    {
        var caught = false;
        await Nursery.RunAsync(async n =>
        {
            try
            {
                await n.StartAsync<int>((_, _) => throw new FormatException());
            }
            catch (FormatException)
            {
                caught = true;
            }
        });
        Assert.IsTrue(caught);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartAsync_ChildFailsAfterStarted_NurseryReportsIt()
    {
        var boom = new InvalidOperationException("after");
        var thrown = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => Nursery.RunAsync(async n =>
        {
            await n.StartAsync<int>(async (status, _) =>
            {
                status.Started(1);
                await Task.Yield();
                throw boom;
            });
        }));
        Assert.AreSame(boom, thrown);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartAsync_ChildReturnsWithoutStarted_ClearError()
    {
        var thrown = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => Nursery.RunAsync(async n =>
        {
            await n.StartAsync<int>((_, _) => Task.CompletedTask);
        }));
        StringAssert.Contains(thrown.Message, "without calling status.Started");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartAsync_StartedTwice_Throws()
    {
        InvalidOperationException? second = null;
        await Nursery.RunAsync(async n =>
        {
            await n.StartAsync<int>((status, _) =>
            {
                status.Started(1);
                second = Assert.ThrowsExactly<InvalidOperationException>(() => status.Started(2));
                return Task.CompletedTask;
            });
        });
        Assert.IsNotNull(second);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartAsync_CallerTokenCancelsBeforeStarted_ButNotAfter()
    {
        using var callerCts = new CancellationTokenSource();
        var stillRunningAfterCallerCancel = false;
        await Nursery.RunAsync(async n =>
        {
            // Before Started: the caller's token cancels the child.
            var pending = n.StartAsync<int>(async (status, ct) =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                status.Started(0);
            }, callerCts.Token);
            callerCts.Cancel();
            await Assert.ThrowsAsync<OperationCanceledException>(() => pending);

            // After Started: the caller's token no longer applies.
            using var secondCaller = new CancellationTokenSource();
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await n.StartAsync<int>(async (status, ct) =>
            {
                status.Started(1);
                await release.Task;
                stillRunningAfterCallerCancel = !ct.IsCancellationRequested;
            }, secondCaller.Token);
            secondCaller.Cancel();
            release.SetResult();
        });
        Assert.IsTrue(stillRunningAfterCallerCancel);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartAsync_NonGeneric_WaitsForStarted()
    {
        var order = new List<string>();
        await Nursery.RunAsync(async n =>
        {
            await n.StartAsync(async (status, _) =>
            {
                await Task.Yield();
                lock (order)
                {
                    order.Add("ready");
                }

                status.Started();
            });
            lock (order)
            {
                order.Add("caller");
            }
        });
        CollectionAssert.AreEqual(new[] { "ready", "caller" }, order);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartSoon_OnSynchronizationContext_ChildIsQueuedNotInlined()
    {
        using var loop = new EventLoop();
        var order = new List<string>();
        loop.RunUntilComplete(() => Nursery.RunAsync(n =>
        {
            n.StartSoon(_ =>
            {
                order.Add("child");
                return Task.CompletedTask;
            });
            order.Add("body");
            return Task.CompletedTask;
        }));
        CollectionAssert.AreEqual(new[] { "body", "child" }, order);
        await Task.CompletedTask;
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Statistics_CountChildren()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new CountdownEvent(2);
        Nursery? nursery = null;
        var run = Nursery.RunAsync(n =>
        {
            nursery = n;
            for (var i = 0; i < 2; i++)
            {
                n.StartSoon(async _ =>
                {
                    started.Signal();
                    await release.Task;
                });
            }

            return Task.CompletedTask;
        });
        started.Wait();
        var live = nursery!.GetStatistics();
        Assert.AreEqual(2, live.LiveChildren);
        Assert.AreEqual(2, live.ChildrenStarted);
        release.SetResult();
        await run;
        var done = nursery.GetStatistics();
        Assert.AreEqual(0, done.LiveChildren);
        Assert.AreEqual(2, done.ChildrenCompleted);
        Assert.IsTrue(done.IsClosed);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task ThrowFromNamedMethodAsync()
    {
        await Task.Yield();
        throw new FormatException("from a named method");
    }
}
