using System.Collections.Concurrent;

using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowExecutorStageTests
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task SelectOn_ThreadExecutor_RunsOnItsThreadsInParallelAndKeepsOrder()
    {
        await using var threads = new ThreadExecutor(3);
        var onWorker = 0;
        var concurrent = 0;
        var maxConcurrent = 0;
        var gate = new ConcurrentDictionary<int, int>();

        var items = await Flow.From(Enumerable.Range(0, 300))
            .SelectOn(threads, (x, _) =>
            {
                if (threads.IsWorkerThread)
                {
                    Interlocked.Increment(ref onWorker);
                }

                var now = Interlocked.Increment(ref concurrent);
                gate.AddOrUpdate(0, now, (_, m) => Math.Max(m, now));
                Thread.SpinWait(2_000);
                Interlocked.Decrement(ref concurrent);
                return x * 2;
            })
            .ToListAsync();
        maxConcurrent = gate.GetValueOrDefault(0);

        CollectionAssert.AreEqual(Enumerable.Range(0, 300).Select(x => x * 2).ToList(), items);
        Assert.AreEqual(300, onWorker, "work ran off the executor's threads");
        Assert.IsTrue(maxConcurrent <= 3, $"{maxConcurrent} items at once on 3 workers");
        StringAssert.Contains(Flow.From([1]).SelectOn(threads, (x, _) => x).Describe(), "SelectOn(ThreadExecutor)");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SelectOn_ThreadExecutor_WorkThrows_FailsWithStageException()
    {
        await using var threads = new ThreadExecutor(2);

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(new FlowsTestSupport.EndlessSource())
            .SelectOn(threads, (x, _) => x == 77 ? throw new InvalidDataException("bad") : x).Named("blocking")
            .CountAsync());

        Assert.AreEqual("blocking", ex.StageName);
        Assert.AreEqual(77, ex.Item);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SelectOn_ProcessExecutor_MapsInWorkerProcesses()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 2);

        var squares = await Flow.From(Enumerable.Range(0, 200).Select(i => (long)i))
            .SelectOn(pool, TestWork.Square)
            .ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 200).Select(i => (long)i * i).ToList(), squares);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SelectOn_ProcessExecutor_RemoteFailureSkippedByPolicy()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);

        var results = await Flow.From(new[] { "a", "boom", "c" })
            .SelectOn(pool, TestWork.Throw, new StageOptions { OnError = FlowErrorPolicy.Skip })
            .CountAsync();

        Assert.AreEqual(0L, results, "every item throws remotely and is skipped");
    }
}
