using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

namespace FlowKit.Tests.Executors;

[TestClass]
public sealed class ProcessExecutorTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60_000)]
    public async Task SubmitAsync_Echo_ReturnsTheArgument()
    {
        await using var pool = ExecutorsTestWorkers.Pool();
        Assert.AreEqual("hello", await pool.SubmitAsync(TestWork.Echo, "hello"));
        Assert.AreEqual(6, await pool.SubmitAsync(TestWork.Add, [1, 2, 3]));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SubmitAsync_ManyItems_AllResultsCorrect()
    {
        await using var pool = ExecutorsTestWorkers.Pool();
        var tasks = Enumerable.Range(0, 2_000).Select(i => pool.SubmitAsync(TestWork.Square, (long)i)).ToArray();
        var results = await Task.WhenAll(tasks);
        for (var i = 0; i < results.Length; i++)
        {
            Assert.AreEqual((long)i * i, results[i]);
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SubmitAsync_WorkThrows_RemoteWorkExceptionCarriesTypeMessageAndStack()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var e = await Assert.ThrowsExactlyAsync<RemoteWorkException>(() => pool.SubmitAsync(TestWork.Throw, "boom"));
        Assert.AreEqual("System.InvalidOperationException", e.RemoteTypeName);
        Assert.AreEqual("boom", e.RemoteMessage);
        StringAssert.Contains(e.RemoteStackTrace, "ThrowIt");
        StringAssert.Contains(e.ToString(), "Remote stack trace");

        // The worker survives a thrown exception.
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        Assert.AreEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
        Assert.AreEqual(1L, pool.GetStatistics().WorkersStarted);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SubmitAsync_HandlerWritesToConsole_ProtocolStaysIntact()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        for (var i = 0; i < 20; i++)
        {
            Assert.AreEqual("x" + i, await pool.SubmitAsync(TestWork.Print, "x" + i));
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SubmitAsync_UnknownWork_FailsWithRemoteKeyNotFound()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var unknown = new ProcessWork<int, int>("no-such-work", TestJson.Default.Int32, TestJson.Default.Int32);
        var e = await Assert.ThrowsExactlyAsync<RemoteWorkException>(() => pool.SubmitAsync(unknown, 1));
        Assert.AreEqual("System.Collections.Generic.KeyNotFoundException", e.RemoteTypeName);
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task MapAsync_ChunkedItems_ReturnsEveryResult(bool ordered)
    {
        await using var pool = ExecutorsTestWorkers.Pool();
        var results = new List<long>();
        await foreach (var r in pool.MapAsync(TestWork.Square, Enumerable.Range(0, 5_000).Select(i => (long)i), ordered))
        {
            results.Add(r);
        }

        var expected = Enumerable.Range(0, 5_000).Select(i => (long)i * i).ToList();
        if (ordered)
        {
            CollectionAssert.AreEqual(expected, results);
        }
        else
        {
            CollectionAssert.AreEquivalent(expected, results);
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task MapAsync_AsyncInputUnchunked_ReturnsResultsInOrder()
    {
        await using var pool = ExecutorsTestWorkers.Pool();
        var results = new List<long>();
        await foreach (var r in pool.MapAsync(TestWork.Square, Source(100), new ExecutorMapOptions { ChunkSize = 1, MaxInFlight = 4 }))
        {
            results.Add(r);
        }

        CollectionAssert.AreEqual(Enumerable.Range(0, 100).Select(i => (long)i * i).ToList(), results);

        static async IAsyncEnumerable<long> Source(int n)
        {
            for (var i = 0; i < n; i++)
            {
                await Task.Yield();
                yield return i;
            }
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(1, 4)]
    [DataRow(8, 2)]
    public async Task MapAsync_ConsumerStopsEarly_InputReadAtMostTheWindowAhead(int chunk, int inFlight)
    {
        await using var pool = ExecutorsTestWorkers.Pool();
        var produced = 0;
        IEnumerable<long> Infinite()
        {
            for (long i = 0; ; i++)
            {
                produced++;
                yield return i;
            }
        }

        var consumed = 0;
        await foreach (var _ in pool.MapAsync(TestWork.Square, Infinite(), new ExecutorMapOptions { ChunkSize = chunk, MaxInFlight = inFlight }))
        {
            if (++consumed == 20)
            {
                break;
            }
        }

        Assert.IsTrue(produced <= consumed + chunk * (inFlight + 1), $"read {produced} inputs for {consumed} results");
        Assert.AreEqual(0, pool.GetStatistics().InFlightCalls, "nothing is left running in the workers");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task MapAsync_ItemThrows_EnumerationFailsWithRemoteException()
    {
        await using var pool = ExecutorsTestWorkers.Pool();
        await Assert.ThrowsExactlyAsync<RemoteWorkException>(async () =>
        {
            await foreach (var _ in pool.MapAsync(TestWork.Throw, ["a", "b", "c"]))
            {
            }
        });
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AsBlock_LinkedMesh_ProcessesEveryMessage()
    {
        await using var pool = ExecutorsTestWorkers.Pool();
        var block = pool.AsBlock(TestWork.Square);
        var results = new List<long>();
        var sink = new System.Threading.Tasks.Dataflow.ActionBlock<long>(results.Add);
        block.LinkTo(sink, new System.Threading.Tasks.Dataflow.DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < 200; i++)
        {
            await System.Threading.Tasks.Dataflow.DataflowBlock.SendAsync(block, (long)i);
        }

        block.Complete();
        await sink.Completion;
        CollectionAssert.AreEqual(Enumerable.Range(0, 200).Select(i => (long)i * i).ToList(), results);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Constructor_BadArguments_Throw()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProcessExecutor(0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProcessExecutor(ProcessExecutor.MaxAllowedWorkers + 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProcessExecutor(1, new ProcessExecutorOptions { MaxTasksPerWorker = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProcessExecutor(1, new ProcessExecutorOptions { MaxItemsInFlightPerWorker = 0 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProcessExecutor(1, new ProcessExecutorOptions { CancellationGracePeriod = TimeSpan.FromSeconds(-1) }));
        Assert.ThrowsExactly<ArgumentException>(() => new ProcessExecutor(1, new ProcessExecutorOptions { WorkerFileName = "" }));
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        await Assert.ThrowsExactlyAsync<ArgumentNullException>(() => pool.SubmitAsync<int, int>(null!, 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pool.MapAsync(TestWork.Square, [1L], new ExecutorMapOptions { ChunkSize = -1 }));
        Assert.AreEqual(0, pool.GetStatistics().LiveWorkers, "workers start only when work arrives");
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Registry_DuplicateOrBadName_Throws()
    {
        var registry = new ProcessWorkerRegistry();
        registry.Register("a", (int x) => x, TestJson.Default.Int32, TestJson.Default.Int32);
        Assert.ThrowsExactly<ArgumentException>(() => registry.Register("a", (int x) => x, TestJson.Default.Int32, TestJson.Default.Int32));
        Assert.ThrowsExactly<ArgumentException>(() => registry.Register("", (int x) => x, TestJson.Default.Int32, TestJson.Default.Int32));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => registry.Register(new string('n', 2000), (int x) => x, TestJson.Default.Int32, TestJson.Default.Int32));
        CollectionAssert.AreEqual(new[] { "a" }, registry.Names.ToArray());
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StartFailure_BadWorkerPath_FailsTheItemLoudly()
    {
        await using var pool = new ProcessExecutor(1, new ProcessExecutorOptions { WorkerFileName = "/nonexistent/flowkit-worker" });
        var e = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => pool.SubmitAsync(TestWork.Square, 2L));
        StringAssert.Contains(e.Message, "/nonexistent/flowkit-worker");
    }
}
