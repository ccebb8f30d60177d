namespace FlowKit.Tests.Queues.Upstream;

/// <summary>
/// Trio's <c>trio/_tests/test_sync.py</c>, case by case, for the primitives FlowKit has: <see cref="AsyncEvent"/>,
/// <see cref="CapacityLimiter"/>, <see cref="AsyncLock"/>, <see cref="AsyncCondition"/> (and <see cref="SemaphoreSlim"/> for Trio's
/// <c>Semaphore</c>). Trio's <c>wait_all_tasks_blocked()</c> maps to "the call returned a pending task": FlowKit enqueues a waiter
/// synchronously inside the call, so a pending task is already blocked. Where a case waits for a woken task to run, it awaits that
/// task (a completion signal), never a sleep. Cases that do not apply are listed in docs/queues.md.
/// </summary>
[TestClass]
public sealed class TrioSyncTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_Event()
    {
        var e = new AsyncEvent();
        Assert.IsFalse(e.IsSet);
        e.Set();
        Assert.IsTrue(e.IsSet);
        await e.WaitAsync().WaitAsync(TimeSpan.FromSeconds(5));

        e = new AsyncEvent();
        var record = new List<string>();
        async Task Child()
        {
            record.Add("sleeping");
            await e.WaitAsync().ConfigureAwait(false);
            lock (record)
            {
                record.Add("woken");
            }
        }

        var children = new[] { Child(), Child() };
        Assert.IsTrue(children.All(c => !c.IsCompleted), "both children block on the unset event");
        CollectionAssert.AreEqual(new[] { "sleeping", "sleeping" }, record);
        Assert.AreEqual(2, e.GetStatistics().TasksWaiting);
        e.Set();
        await Task.WhenAll(children).WaitAsync(TimeSpan.FromSeconds(5));
        CollectionAssert.AreEqual(new[] { "sleeping", "sleeping", "woken", "woken" }, record);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_CapacityLimiter()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CapacityLimiter(-1));
        var c = new CapacityLimiter(2);
        var repr = c.GetStatistics().ToString();
        StringAssert.Contains(repr, "BorrowedTokens = 0");
        StringAssert.Contains(repr, "TotalTokens = 2");
        Assert.AreEqual(2, c.TotalTokens);
        Assert.AreEqual(0, c.BorrowedTokens);
        Assert.AreEqual(2, c.AvailableTokens);

        Assert.IsTrue(c.TryAcquire(out var first));
        Assert.AreEqual(1, c.BorrowedTokens);
        Assert.AreEqual(1, c.AvailableTokens);
        var second = await c.AcquireAsync();
        Assert.AreEqual(2, c.BorrowedTokens);
        Assert.AreEqual(0, c.AvailableTokens);
        Assert.IsFalse(c.TryAcquire(out _), "acquire_nowait on an exhausted limiter would block");

        // A third borrower waits; releasing one token hands it over at once.
        var third = c.AcquireAsync().AsTask();
        Assert.IsFalse(third.IsCompleted);
        Assert.AreEqual(1, c.GetStatistics().TasksWaiting);
        await first!.DisposeAsync();
        Assert.AreEqual(2, c.BorrowedTokens, "the freed token went straight to the waiter");
        Assert.AreEqual(0, c.GetStatistics().TasksWaiting);
        var thirdReleaser = await third.WaitAsync(TimeSpan.FromSeconds(5));

        // Releasing twice is harmless (Trio raises RuntimeError; FlowKit's releaser is idempotent).
        await first.DisposeAsync();
        Assert.AreEqual(2, c.BorrowedTokens);
        await second.DisposeAsync();
        await thirdReleaser.DisposeAsync();
        Assert.AreEqual(new CapacityLimiterStatistics(0, 2, 0), c.GetStatistics());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_CapacityLimiter_inf()
    {
        // Trio's math.inf maps to int.MaxValue tokens.
        var c = new CapacityLimiter(int.MaxValue);
        var held = new List<IAsyncDisposable>();
        for (var i = 0; i < 1_000; i++)
        {
            held.Add(await c.AcquireAsync());
        }

        Assert.AreEqual(1_000, c.BorrowedTokens);
        Assert.AreEqual(int.MaxValue - 1_000, c.AvailableTokens);
        foreach (var h in held)
        {
            await h.DisposeAsync();
        }

        Assert.AreEqual(0, c.BorrowedTokens);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_CapacityLimiter_change_total_tokens()
    {
        var c = new CapacityLimiter(2);
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => c.TotalTokens = -10);
        Assert.AreEqual("value", error.ParamName);
        StringAssert.Contains(error.Message, "TotalTokens");
        Assert.AreEqual(2, c.TotalTokens);

        var borrowers = Enumerable.Range(0, 5).Select(_ => c.AcquireAsync().AsTask()).ToArray();
        CollectionAssert.AreEqual(new[] { true, true, false, false, false }, borrowers.Select(b => b.IsCompleted).ToArray());
        Assert.AreEqual(3, c.GetStatistics().TasksWaiting);

        c.TotalTokens += 2;
        CollectionAssert.AreEqual(
            new[] { true, true, true, true, false },
            borrowers.Select(b => b.IsCompleted).ToArray(),
            "growing the total wakes waiters at once, first come first served");
        Assert.AreEqual(1, c.GetStatistics().TasksWaiting);

        c.TotalTokens -= 3;
        Assert.AreEqual(4, c.BorrowedTokens, "lowering the total takes nothing back");
        Assert.AreEqual(1, c.TotalTokens);
        Assert.AreEqual(0, c.AvailableTokens);

        for (var i = 0; i < 3; i++)
        {
            await (await borrowers[i]).DisposeAsync();
        }

        Assert.AreEqual(1, c.BorrowedTokens);
        Assert.IsFalse(borrowers[4].IsCompleted, "3 tokens released while 4 were out of a total of 1: the waiter still waits");
        Assert.AreEqual(1, c.GetStatistics().TasksWaiting);

        await (await borrowers[3]).DisposeAsync();
        var last = await borrowers[4].WaitAsync(TimeSpan.FromSeconds(5));
        Assert.AreEqual(1, c.BorrowedTokens);
        Assert.AreEqual(0, c.GetStatistics().TasksWaiting);
        await last.DisposeAsync();
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_CapacityLimiter_memleak_548()
    {
        // A cancelled borrower must leave no trace (Trio's pending-borrowers dict leaked it).
        var limiter = new CapacityLimiter(0);
        using var cts = new CancellationTokenSource();
        var waiting = limiter.AcquireAsync(cts.Token).AsTask();
        Assert.AreEqual(1, limiter.GetStatistics().TasksWaiting);
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => waiting);
        Assert.AreEqual(0, limiter.GetStatistics().TasksWaiting);
        Assert.AreEqual(0, limiter.BorrowedTokens);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_CapacityLimiter_zero_limit_tokens()
    {
        var c = new CapacityLimiter(5);
        Assert.AreEqual(5, c.TotalTokens);
        c.TotalTokens = 0;
        var borrowers = Enumerable.Range(0, 5).Select(_ => c.AcquireAsync().AsTask()).ToArray();
        Assert.IsTrue(borrowers.All(b => !b.IsCompleted));
        Assert.AreEqual(5, c.GetStatistics().TasksWaiting);
        Assert.AreEqual(0, c.BorrowedTokens);
        Assert.IsFalse(c.TryAcquire(out _));

        c.TotalTokens = 5;
        Assert.AreEqual(5, c.BorrowedTokens);
        Assert.AreEqual(0, c.GetStatistics().TasksWaiting);
        foreach (var b in borrowers)
        {
            await (await b).DisposeAsync();
        }

        Assert.AreEqual(0, c.BorrowedTokens);

        // Constructed with zero tokens: nothing is lent until the total grows.
        c = new CapacityLimiter(0);
        Assert.AreEqual(0, c.TotalTokens);
        Assert.AreEqual(0, c.AvailableTokens);
        var blocked = c.AcquireAsync().AsTask();
        Assert.IsFalse(blocked.IsCompleted);
        c.TotalTokens = 1;
        await (await blocked.WaitAsync(TimeSpan.FromSeconds(5))).DisposeAsync();
        Assert.AreEqual(new CapacityLimiterStatistics(0, 1, 0), c.GetStatistics());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_Semaphore()
    {
        // Trio's Semaphore maps to the BCL's SemaphoreSlim (documented in docs/queues.md).
        var s = new SemaphoreSlim(1);
        Assert.AreEqual(1, s.CurrentCount);
        Assert.IsTrue(s.Wait(0));
        Assert.AreEqual(0, s.CurrentCount);
        Assert.IsFalse(s.Wait(0));
        s.Release();
        Assert.AreEqual(1, s.CurrentCount);
        s.Release();
        Assert.AreEqual(2, s.CurrentCount);
        await s.WaitAsync();
        await s.WaitAsync();
        var waiter = s.WaitAsync();
        Assert.IsFalse(waiter.IsCompleted, "no slot: the waiter blocks");
        s.Release();
        await waiter.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.AreEqual(0, s.CurrentCount, "the released slot went to the waiter");
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Trio_test_Semaphore_bounded()
    {
        var s = new SemaphoreSlim(1, 1);
        Assert.ThrowsExactly<SemaphoreFullException>(() => s.Release());
        Assert.IsTrue(s.Wait(0));
        s.Release();
        Assert.ThrowsExactly<SemaphoreFullException>(() => s.Release());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_Lock_and_StrictFIFOLock()
    {
        var l = new AsyncLock();
        Assert.IsFalse(l.IsLocked);
        await using (await l.AcquireAsync())
        {
            Assert.IsTrue(l.IsLocked);
            Assert.IsFalse(l.TryAcquire(out _));
            Assert.AreEqual(new AsyncLockStatistics(true, 0), l.GetStatistics());
        }

        Assert.IsFalse(l.IsLocked);

        var holder = await l.AcquireAsync();
        var order = new List<int>();
        var waiters = Enumerable.Range(0, 3).Select(async i =>
        {
            await using (await l.AcquireAsync())
            {
                order.Add(i);
            }
        }).ToArray();
        Assert.AreEqual(new AsyncLockStatistics(true, 3), l.GetStatistics());
        await holder.DisposeAsync();
        await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(5));
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, order, "strict FIFO hand-off");
        Assert.AreEqual(new AsyncLockStatistics(false, 0), l.GetStatistics());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Trio_test_Condition()
    {
        Assert.ThrowsExactly<InvalidOperationException>(() => new AsyncCondition().Notify());
        Assert.ThrowsExactly<InvalidOperationException>(() => new AsyncCondition().NotifyAll());
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => new AsyncCondition().WaitAsync());

        var l = new AsyncLock();
        var c = new AsyncCondition(l);
        Assert.AreSame(l, c.Lock);
        Assert.IsFalse(l.IsLocked);
        await using (await c.AcquireAsync())
        {
            Assert.IsTrue(l.IsLocked);
        }

        // After being cancelled the waiter still holds the lock.
        await using (await c.AcquireAsync())
        {
            using var cts = new CancellationTokenSource();
            var wait = c.WaitAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAsync<OperationCanceledException>(() => wait);
            Assert.IsTrue(l.IsLocked);
        }

        var finished = new List<int>();
        async Task Waiter(int i)
        {
            await using (await c.AcquireAsync().ConfigureAwait(false))
            {
                await c.WaitAsync().ConfigureAwait(false);
            }

            lock (finished)
            {
                finished.Add(i);
            }
        }

        var tasks = new List<Task>();
        for (var i = 0; i < 3; i++)
        {
            tasks.Add(Waiter(i));
            await WaitForWaitersAsync(c, i + 1);
        }

        await using (await c.AcquireAsync())
        {
            c.Notify();
        }

        await tasks[0].WaitAsync(TimeSpan.FromSeconds(5));
        CollectionAssert.AreEqual(new[] { 0 }, finished);
        await using (await c.AcquireAsync())
        {
            c.NotifyAll();
        }

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(5));
        CollectionAssert.AreEquivalent(new[] { 0, 1, 2 }, finished);

        finished.Clear();
        tasks.Clear();
        for (var i = 0; i < 3; i++)
        {
            tasks.Add(Waiter(i));
            await WaitForWaitersAsync(c, i + 1);
        }

        await using (await c.AcquireAsync())
        {
            c.Notify(2);
            var statistics = c.GetStatistics();
            Assert.AreEqual(1, statistics.TasksWaiting);
            Assert.AreEqual(2, statistics.LockStatistics.TasksWaiting, "notified waiters wait for the lock and are counted there");
        }

        await Task.WhenAll(tasks[0], tasks[1]).WaitAsync(TimeSpan.FromSeconds(5));
        CollectionAssert.AreEquivalent(new[] { 0, 1 }, finished);
        Assert.AreEqual(0, c.GetStatistics().LockStatistics.TasksWaiting);
        await using (await c.AcquireAsync())
        {
            c.NotifyAll();
        }

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(5));
        CollectionAssert.AreEquivalent(new[] { 0, 1, 2 }, finished);
    }

    /// <summary>Waits (by yielding, no timer) until <paramref name="count"/> tasks wait on the condition and its lock is free.</summary>
    private static async Task WaitForWaitersAsync(AsyncCondition c, int count)
    {
        while (c.GetStatistics() is var s && (s.TasksWaiting != count || s.LockStatistics.Locked))
        {
            await Task.Yield();
        }
    }
}
