namespace FlowKit.Tests.Queues;

/// <summary>AsyncEvent, AsyncLock, AsyncCondition and CapacityLimiter: asyncio/Trio semantics, fairness and cancellation safety.</summary>
[TestClass]
public sealed class SynchronizationPrimitivesTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsyncEvent_SetWakesEveryWaiterAndClearMakesNewWaitersWait()
    {
        var e = new AsyncEvent();
        var waiters = Enumerable.Range(0, 3).Select(_ => e.WaitAsync()).ToArray();
        Assert.AreEqual(new AsyncEventStatistics(false, 3), e.GetStatistics());
        e.Set();
        await Task.WhenAll(waiters).WaitAsync(Second);
        Assert.IsTrue(e.IsSet);
        Assert.IsTrue(e.WaitAsync().IsCompleted);
        e.Clear();
        Assert.IsFalse(e.IsSet);
        var later = e.WaitAsync();
        Assert.IsFalse(later.IsCompleted);
        e.Set();
        await later.WaitAsync(Second);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsyncEvent_CancelledWait_ThrowsAndLeavesNoWaiter()
    {
        var e = new AsyncEvent();
        using var cts = new CancellationTokenSource();
        var wait = e.WaitAsync(cts.Token);
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => wait);
        Assert.AreEqual(0, e.GetStatistics().TasksWaiting);
        Assert.IsTrue(e.WaitAsync(cts.Token).IsCanceled, "a precancelled wait on an unset event comes back cancelled");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task AsyncLock_UnderContention_OneHolderAtATime()
    {
        var gate = new AsyncLock();
        var inside = 0;
        var maxInside = 0;
        var total = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                await using (await gate.AcquireAsync())
                {
                    var now = Interlocked.Increment(ref inside);
                    maxInside = Math.Max(maxInside, now);
                    total++;
                    await Task.Yield();
                    Interlocked.Decrement(ref inside);
                }
            }
        })));
        Assert.AreEqual(1, maxInside);
        Assert.AreEqual(4_000, total);
        Assert.IsFalse(gate.IsLocked);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsyncLock_WaitersAcquireInArrivalOrder_AndACancelledWaiterIsSkipped()
    {
        var gate = new AsyncLock();
        var holder = await gate.AcquireAsync();
        using var cts = new CancellationTokenSource();
        var order = new List<int>();
        var first = AcquireAndRecord(gate, order, 1, CancellationToken.None);
        var cancelled = AcquireAndRecord(gate, order, 2, cts.Token);
        var third = AcquireAndRecord(gate, order, 3, CancellationToken.None);
        Assert.AreEqual(new AsyncLockStatistics(true, 3), gate.GetStatistics());
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => cancelled);
        await holder.DisposeAsync();
        await Task.WhenAll(first, third).WaitAsync(Second);
        CollectionAssert.AreEqual(new[] { 1, 3 }, order);
        Assert.IsFalse(gate.IsLocked);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsyncLock_DisposingTheReleaserTwice_ReleasesOnce()
    {
        var gate = new AsyncLock();
        var first = await gate.AcquireAsync();
        await first.DisposeAsync();
        var second = await gate.AcquireAsync();
        await first.DisposeAsync();
        Assert.IsTrue(gate.IsLocked, "a second dispose of an old releaser must not release the new holder");
        Assert.IsFalse(gate.TryAcquire(out _));
        await second.DisposeAsync();
        Assert.IsTrue(gate.TryAcquire(out var third));
        await third.DisposeAsync();
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsyncLock_PrecancelledToken_ComesBackCancelledEvenWhenFree()
    {
        var gate = new AsyncLock();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.IsTrue(gate.AcquireAsync(cts.Token).IsCanceled);
        Assert.IsFalse(gate.IsLocked);
        await using (await gate.AcquireAsync())
        {
            Assert.IsTrue(gate.IsLocked);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsyncCondition_NotifyWakesOneWaiterInOrderAndWaitReacquiresTheLock()
    {
        var cond = new AsyncCondition();
        var woke = new List<int>();
        var waiters = Enumerable.Range(0, 3).Select(i => Task.Run(async () =>
        {
            await using (await cond.AcquireAsync())
            {
                await cond.WaitAsync();
                Assert.IsTrue(cond.Lock.IsLocked);
                woke.Add(i);
            }
        })).ToArray();
        await WaitUntilAsync(() => cond.GetStatistics().TasksWaiting == 3);
        await using (await cond.AcquireAsync())
        {
            cond.Notify();
        }

        await WaitUntilAsync(() => woke.Count == 1);
        await using (await cond.AcquireAsync())
        {
            cond.NotifyAll();
        }

        await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.AreEqual(3, woke.Count);
        Assert.AreEqual(0, cond.GetStatistics().TasksWaiting);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsyncCondition_WithoutTheLock_ThrowsInvalidOperation()
    {
        var cond = new AsyncCondition();
        Assert.ThrowsExactly<InvalidOperationException>(() => cond.Notify());
        Assert.ThrowsExactly<InvalidOperationException>(() => cond.NotifyAll());
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => cond.WaitAsync());
        await using (await cond.AcquireAsync())
        {
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => cond.Notify(0));
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task AsyncCondition_CancelledWait_HoldsTheLockAgainBeforeThrowing()
    {
        var cond = new AsyncCondition();
        using var cts = new CancellationTokenSource();
        await using (await cond.AcquireAsync())
        {
            var wait = cond.WaitAsync(cts.Token);
            Assert.IsFalse(cond.Lock.IsLocked, "the lock is released while waiting");
            cts.Cancel();
            await Assert.ThrowsAsync<OperationCanceledException>(() => wait);
            Assert.IsTrue(cond.Lock.IsLocked);
            Assert.AreEqual(0, cond.GetStatistics().TasksWaiting);
        }

        Assert.IsFalse(cond.Lock.IsLocked);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task AsyncCondition_NotifyRacingCancel_NeverLosesTheNotification_Repeated200Times()
    {
        for (var run = 0; run < 200; run++)
        {
            var cond = new AsyncCondition();
            using var cts = new CancellationTokenSource();
            var racing = Task.Run(async () =>
            {
                await using (await cond.AcquireAsync())
                {
                    await cond.WaitAsync(cts.Token);
                }
            });
            var patient = Task.Run(async () =>
            {
                await using (await cond.AcquireAsync())
                {
                    await cond.WaitAsync();
                }
            });
            await WaitUntilAsync(() => cond.GetStatistics().TasksWaiting == 2);
            var cancel = Task.Run(cts.Cancel);
            await using (await cond.AcquireAsync())
            {
                cond.Notify();
            }

            await cancel;

            // Either the racing waiter took the notification, or it was cancelled and passed it on: the patient one always wakes
            // once a second notification covers the case where the racing waiter consumed the first.
            await racing.ContinueWith(_ => { }, TaskScheduler.Default);
            if (racing.IsCompletedSuccessfully)
            {
                await using (await cond.AcquireAsync())
                {
                    cond.Notify();
                }
            }

            await patient.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    [DataRow(-1)]
    [DataRow(-3)]
    public void CapacityLimiter_NegativeTokens_ThrowsArgumentOutOfRange(int tokens)
    {
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CapacityLimiter(tokens));
        Assert.AreEqual("totalTokens", error.ParamName);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task CapacityLimiter_NeverLendsMoreThanTotalTokens()
    {
        var limiter = new CapacityLimiter(3);
        var inside = 0;
        var maxInside = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                await using (await limiter.AcquireAsync())
                {
                    var now = Interlocked.Increment(ref inside);
                    InterlockedMax(ref maxInside, now);
                    await Task.Yield();
                    Interlocked.Decrement(ref inside);
                }
            }
        })));
        Assert.IsLessThanOrEqualTo(3, maxInside);
        Assert.AreEqual(new CapacityLimiterStatistics(0, 3, 0), limiter.GetStatistics());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CapacityLimiter_StatisticsAndCancelledWaiterBorrowNothing()
    {
        var limiter = new CapacityLimiter(1);
        Assert.IsTrue(limiter.TryAcquire(out var held));
        using var cts = new CancellationTokenSource();
        var waiting = limiter.AcquireAsync(cts.Token).AsTask();
        Assert.AreEqual(new CapacityLimiterStatistics(1, 1, 1), limiter.GetStatistics());
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => waiting);
        await held.DisposeAsync();
        Assert.AreEqual(0, limiter.BorrowedTokens);
        Assert.AreEqual(1, limiter.AvailableTokens);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task CapacityLimiter_CancelsRacingLendsAndTotalChanges_NeverLeakAToken_Repeated200Times()
    {
        for (var run = 0; run < 200; run++)
        {
            var limiter = new CapacityLimiter(run % 3);
            var inside = 0;
            var overLimit = 0;
            var borrowers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                for (var k = 0; k < 20; k++)
                {
                    using var cts = new CancellationTokenSource();
                    var acquire = limiter.AcquireAsync(cts.Token).AsTask();
                    if ((i + k) % 2 == 0)
                    {
                        cts.Cancel();
                    }

                    IAsyncDisposable held;
                    try
                    {
                        held = await acquire;
                    }
                    catch (OperationCanceledException)
                    {
                        continue;
                    }

                    if (Interlocked.Increment(ref inside) > 4)   // the total never exceeds 4
                    {
                        Interlocked.Increment(ref overLimit);
                    }

                    await Task.Yield();
                    Interlocked.Decrement(ref inside);
                    await held.DisposeAsync();
                }
            })).ToArray();
            var resizer = Task.Run(async () =>
            {
                for (var k = 0; k < 20; k++)
                {
                    limiter.TotalTokens = k % 5;
                    await Task.Yield();
                }

                limiter.TotalTokens = 4;   // the uncancelled borrowers can all finish
            });
            await Task.WhenAll(borrowers.Append(resizer)).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.AreEqual(0, overLimit, $"run {run}: more holders than the largest total");
            Assert.AreEqual(new CapacityLimiterStatistics(0, 4, 0), limiter.GetStatistics(), $"run {run}: a token leaked or a waiter was left");
        }
    }

    private static async Task AcquireAndRecord(AsyncLock gate, List<int> order, int id, CancellationToken token)
    {
        await using (await gate.AcquireAsync(token))
        {
            order.Add(id);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Polls a condition with yields (no sleeps); the test's timeout bounds it.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Yield();
        }
    }
}
