namespace FlowKit.Tests.Queues;

/// <summary>asyncio.Queue semantics beyond the shared contract: order per kind, nowait exceptions, task_done/join, shutdown (3.13).</summary>
[TestClass]
public sealed class AsyncQueueTests
{
    [TestMethod]
    [Timeout(10_000)]
    [DataRow(-1)]
    [DataRow(int.MinValue)]
    public void Constructors_NegativeMaxSize_ThrowArgumentOutOfRange(int maxSize)
    {
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AsyncQueue<int>(maxSize));
        Assert.AreEqual("maxSize", error.ParamName);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new PriorityAsyncQueue<int>(maxSize));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LifoAsyncQueue<int>(maxSize));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void FifoQueue_HandsOutItemsInPutOrder()
    {
        var q = new AsyncQueue<int>();
        foreach (var i in new[] { 3, 1, 2 })
        {
            q.PutNowait(i);
        }

        CollectionAssert.AreEqual(new[] { 3, 1, 2 }, new[] { q.GetNowait(), q.GetNowait(), q.GetNowait() });
    }

    [TestMethod]
    [Timeout(10_000)]
    public void LifoQueue_HandsOutTheMostRecentItemFirst()
    {
        var q = new LifoAsyncQueue<int>();
        foreach (var i in new[] { 3, 1, 2 })
        {
            q.PutNowait(i);
        }

        CollectionAssert.AreEqual(new[] { 2, 1, 3 }, new[] { q.GetNowait(), q.GetNowait(), q.GetNowait() });
    }

    [TestMethod]
    [Timeout(10_000)]
    public void PriorityQueue_HandsOutSmallestFirstAndEqualsInPutOrder()
    {
        var q = new PriorityAsyncQueue<(int Priority, string Job)>(comparer: Comparer<(int Priority, string Job)>.Create((a, b) => a.Priority.CompareTo(b.Priority)));
        q.PutNowait((2, "b1"));
        q.PutNowait((1, "a1"));
        q.PutNowait((2, "b2"));
        q.PutNowait((1, "a2"));
        q.PutNowait((0, "z"));
        var order = Enumerable.Range(0, 5).Select(_ => q.GetNowait().Job).ToArray();
        CollectionAssert.AreEqual(new[] { "z", "a1", "a2", "b1", "b2" }, order);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void PriorityQueue_CustomComparer_CanMakeItLargestFirst()
    {
        var q = new PriorityAsyncQueue<int>(comparer: Comparer<int>.Create((a, b) => b.CompareTo(a)));
        q.PutNowait(1);
        q.PutNowait(5);
        q.PutNowait(3);
        Assert.AreEqual(5, q.GetNowait());
    }

    [TestMethod]
    [Timeout(10_000)]
    public void PutNowait_WhenFull_ThrowsQueueFullAndDoesNotCountAsUnfinished()
    {
        var q = new AsyncQueue<int>(1);
        q.PutNowait(1);
        Assert.IsTrue(q.IsFull);
        Assert.ThrowsExactly<QueueFullException>(() => q.PutNowait(2));
        Assert.AreEqual(1, q.UnfinishedTasks);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void GetNowait_WhenEmpty_ThrowsQueueEmpty()
    {
        var q = new PriorityAsyncQueue<int>();
        Assert.IsTrue(q.IsEmpty);
        Assert.ThrowsExactly<QueueEmptyException>(() => q.GetNowait());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task JoinAsync_WithNothingPut_CompletesAtOnce()
    {
        var q = new AsyncQueue<string>();
        await q.JoinAsync().WaitAsync(TimeSpan.FromSeconds(1));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task JoinAsync_WaitsUntilEveryItemIsMarkedDone()
    {
        var q = new AsyncQueue<int>();
        q.PutNowait(1);
        q.PutNowait(2);
        var join = q.JoinAsync();
        _ = q.GetNowait();
        _ = q.GetNowait();
        Assert.IsFalse(join.IsCompleted, "items taken but not done");
        q.TaskDone();
        Assert.IsFalse(join.IsCompleted);
        q.TaskDone();
        await join.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.AreEqual(0, q.UnfinishedTasks);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void TaskDone_MoreTimesThanItemsPut_ThrowsInvalidOperation()
    {
        var q = new LifoAsyncQueue<int>();
        q.PutNowait(1);
        q.TaskDone();
        Assert.ThrowsExactly<InvalidOperationException>(() => q.TaskDone());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task JoinAsync_Cancelled_ThrowsWithoutAffectingTheQueue()
    {
        var q = new AsyncQueue<int>();
        q.PutNowait(1);
        using var cts = new CancellationTokenSource();
        var join = q.JoinAsync(cts.Token);
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => join);
        Assert.AreEqual(1, q.UnfinishedTasks);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task CancelledPut_IsNotCountedByJoin()
    {
        var q = new AsyncQueue<int>(1);
        q.PutNowait(1);
        using var cts = new CancellationTokenSource();
        var put = q.PutAsync(2, cts.Token).AsTask();
        Assert.AreEqual(2, q.UnfinishedTasks, "counted while it waits");
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => put);
        Assert.AreEqual(1, q.UnfinishedTasks);
        _ = q.GetNowait();
        q.TaskDone();
        await q.JoinAsync().WaitAsync(TimeSpan.FromSeconds(1));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ShutdownImmediate_DropsItemsMarksThemDoneAndReleasesJoiners()
    {
        var q = new AsyncQueue<int>();
        q.PutNowait(1);
        q.PutNowait(2);
        var join = q.JoinAsync();
        q.Shutdown(immediate: true);
        await join.WaitAsync(TimeSpan.FromSeconds(1));
        Assert.AreEqual(0, q.Count);
        Assert.ThrowsExactly<QueueShutDownException>(() => q.GetNowait());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ShutdownImmediate_ItemTakenButNotDone_JoinKeepsWaitingForIt()
    {
        var q = new PriorityAsyncQueue<int>();
        q.PutNowait(1);
        q.PutNowait(2);
        _ = q.GetNowait();
        var join = q.JoinAsync();
        q.Shutdown(immediate: true);
        Assert.IsFalse(join.IsCompleted);
        q.TaskDone();
        await join.WaitAsync(TimeSpan.FromSeconds(1));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Shutdown_ThenShutdownImmediate_DropsWhatIsLeft()
    {
        var q = new LifoAsyncQueue<int>();
        q.PutNowait(1);
        q.Shutdown();
        Assert.AreEqual(1, q.Count);
        q.Shutdown(immediate: true);
        Assert.AreEqual(0, q.Count);
        Assert.IsTrue(q.IsShutDown);
        Assert.ThrowsExactly<QueueShutDownException>(() => q.PutNowait(3));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task GetStatistics_ReportsDepthWaitersUnfinishedAndShutdown()
    {
        var q = new AsyncQueue<int>(1);
        q.PutNowait(1);
        var blocked = q.PutAsync(2).AsTask();
        var stats = q.GetStatistics();
        Assert.AreEqual(new AsyncQueueStatistics(Count: 1, MaxSize: 1, UnfinishedTasks: 2, WaitingPutters: 1, WaitingGetters: 0, IsShutDown: false), stats);
        _ = q.GetNowait();
        await blocked;
        q.Shutdown();
        Assert.IsTrue(q.GetStatistics().IsShutDown);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task WorkersWithTaskDone_JoinReturnsAfterEveryJobAcross200Runs()
    {
        for (var run = 0; run < 200; run++)
        {
            var q = new AsyncQueue<int>(4);
            var processed = 0;
            await Nursery.RunAsync(async nursery =>
            {
                for (var w = 0; w < 3; w++)
                {
                    nursery.StartSoon(async ct =>
                    {
                        while (true)
                        {
                            _ = await q.GetAsync(ct);
                            Interlocked.Increment(ref processed);
                            q.TaskDone();
                        }
                    });
                }

                for (var i = 0; i < 20; i++)
                {
                    await q.PutAsync(i);
                }

                await q.JoinAsync();
                Assert.AreEqual(20, Volatile.Read(ref processed), $"run {run}: join returned before every job was done");
                nursery.Cancel();
            });
        }
    }
}
