using System.Net;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using FlowKit.Net;
using FlowKit.Processes;

namespace FlowKit.Tests.Contract;

/// <summary>
/// The public API contract of ARCHITECTURE.md, written exactly as users' code and the acceptance tests write it. If a name or a
/// shape changes, this file stops compiling; each test also runs the calls once.
/// </summary>
[TestClass]
public sealed class ArchitectureContractTests
{
    [TestMethod]
    [Timeout(20_000)]
    public async Task Structured_NamesAndShapes()
    {
        Task run = Nursery.RunAsync(async nursery =>
        {
            nursery.StartSoon(ct => Task.CompletedTask);
            int v = await nursery.StartAsync<int>((status, ct) =>
            {
                status.Started(1);
                return Task.CompletedTask;
            });
            CancellationToken token = nursery.CancellationToken;
            Assert.AreEqual(1, v);
            Assert.IsFalse(token.IsCancellationRequested);
        }, CancellationToken.None);
        await run;
        Task<int> withResult = Nursery.RunAsync<int>(n => Task.FromResult(5), CancellationToken.None);
        Assert.AreEqual(5, await withResult);
        await Nursery.RunAsync(n =>
        {
            n.Cancel();
            return Task.CompletedTask;
        });

        Task<bool> moved = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(10), ct => Task.CompletedTask, CancellationToken.None, TimeProvider.System);
        Assert.IsTrue(await moved);
        Task<int> failAfter = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(10), ct => Task.FromResult(3), CancellationToken.None, TimeProvider.System);
        Assert.AreEqual(3, await failAfter);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Queues_NamesAndShapes()
    {
        var queue = new AsyncQueue<int>(maxSize: 0);
        ValueTask put = queue.PutAsync(1, CancellationToken.None);
        await put;
        queue.PutNowait(2);
        ValueTask<int> get = queue.GetAsync(CancellationToken.None);
        Assert.AreEqual(1, await get);
        Assert.AreEqual(2, queue.GetNowait());
        queue.TaskDone();
        queue.TaskDone();
        Task join = queue.JoinAsync(CancellationToken.None);
        await join;
        int count = queue.Count;
        Assert.AreEqual(0, count);
        queue.Shutdown(immediate: false);
        Assert.ThrowsExactly<QueueShutDownException>(() => queue.PutNowait(3));
        Assert.ThrowsExactly<QueueEmptyException>(() => new AsyncQueue<int>().GetNowait());
        Assert.ThrowsExactly<QueueFullException>(() =>
        {
            var full = new AsyncQueue<int>(1);
            full.PutNowait(1);
            full.PutNowait(2);
        });
        _ = new PriorityAsyncQueue<int>(maxSize: 0, comparer: Comparer<int>.Default);
        _ = new LifoAsyncQueue<int>(maxSize: 0);

        var (send, receive) = MemoryChannel.Open<int>(capacity: 1);
        ValueTask sent = send.SendAsync(7, CancellationToken.None);
        await sent;
        SendChannel<int> sendClone = send.Clone();
        ReceiveChannel<int> receiveClone = receive.Clone();
        ValueTask<int> received = receive.ReceiveAsync(CancellationToken.None);
        Assert.AreEqual(7, await received);
        receiveClone.Dispose();
        sendClone.Dispose();
        send.Dispose();
        IAsyncEnumerable<int> items = receive;
        await foreach (var _ in items)
        {
            Assert.Fail("No item was left to receive.");
        }

        await Assert.ThrowsExactlyAsync<EndOfChannelException>(async () => await receive.ReceiveAsync());

        var ev = new AsyncEvent();
        ev.Set();
        bool isSet = ev.IsSet;
        Task wait = ev.WaitAsync(CancellationToken.None);
        await wait;
        ev.Clear();
        Assert.IsTrue(isSet);
        var gate = new AsyncLock();
        await using (await gate.AcquireAsync(CancellationToken.None))
        {
        }

        var limiter = new CapacityLimiter(totalTokens: 2);
        ValueTask<IAsyncDisposable> borrowed = limiter.AcquireAsync(CancellationToken.None);
        await (await borrowed).DisposeAsync();
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Executors_NamesAndShapes()
    {
        await using var threads = new ThreadExecutor(maxWorkers: 2);
        Task<int> future = threads.SubmitAsync((int x) => x + 1, 1, CancellationToken.None);
        Assert.AreEqual(2, await future);
        IAsyncEnumerable<int> mapped = threads.MapAsync((int x) => x * 2, Enumerable.Range(0, 5), ordered: true, CancellationToken.None);
        CollectionAssert.AreEqual(new[] { 0, 2, 4, 6, 8 }, await mapped.ToListAsync());
        TaskScheduler scheduler = threads.Scheduler;
        var block = new TransformBlock<int, int>(x => x, new ExecutionDataflowBlockOptions { TaskScheduler = scheduler });
        block.Complete();
        await block.Completion;
    }

    [TestMethod]
    [Timeout(20_000)]
    public void EventLoop_NamesAndShapes()
    {
        using var loop = new EventLoop();
        int result = loop.RunUntilComplete<int>(() => Task.FromResult(4));
        Assert.AreEqual(4, result);
        loop.RunUntilComplete(() => Task.CompletedTask);
        Task created = loop.CreateTask(() => Task.CompletedTask);
        loop.CallSoon(() => { });
        IDisposable later = loop.CallLater(TimeSpan.FromMilliseconds(1), loop.Stop);
        loop.RunForever();
        later.Dispose();
        DateTimeOffset now = loop.Time;
        IScheduler rx = loop.Scheduler;
        Assert.IsTrue(created.IsCompleted);
        Assert.IsNotNull(rx);
        Assert.AreNotEqual(default, now);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Flows_NamesAndShapes()
    {
        Flow<int> flow = Flow.From(Enumerable.Range(0, 10));
        _ = Flow.From(AsyncRange(3));
        _ = Flow.From(Channel.CreateUnbounded<int>().Reader);
        _ = Flow.From((ISourceBlock<int>)new BufferBlock<int>());
        _ = Flow.From(Observable.Range(0, 3), capacity: 8, overflow: Overflow.Wait);
        _ = new[] { Overflow.Wait, Overflow.DropOldest, Overflow.DropNewest, Overflow.Fail };

        var options = new StageOptions { Parallelism = 2, Capacity = 16, Ordered = true, TimeProvider = TimeProvider.System };
        List<int> list = await flow
            .Select((x, ct) => ValueTask.FromResult(x + 1), options)
            .Select(x => x * 2)
            .Where(x => x % 4 == 0)
            .SelectMany(x => new[] { x, x })
            .Via(new TransformBlock<int, int>(x => x))
            .ToListAsync(CancellationToken.None);
        Assert.HasCount(10, list);

        IList<int>[] batches = (await Flow.From(Enumerable.Range(0, 5)).Batch(2, maxDelay: null).ToListAsync()).Select(b => (IList<int>)b).ToArray();
        Assert.HasCount(3, batches);
        await Flow.From(Enumerable.Range(0, 3)).ForEachAsync((x, ct) => ValueTask.CompletedTask, CancellationToken.None);
        await foreach (var _ in Flow.From(Enumerable.Range(0, 3)).ToAsyncEnumerable(CancellationToken.None))
        {
        }

        IObservable<int> observable = Flow.From(Enumerable.Range(0, 3)).ToObservable();
        Assert.AreEqual(3, await observable.Count());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Streams_NamesAndShapes()
    {
        await using SocketServer server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
        IPEndPoint endPoint = server.LocalEndPoint;
        using var stop = new CancellationTokenSource();
        Task serving = server.ServeAsync(async (stream, ct) =>
        {
            var buffer = new byte[16];
            var n = await stream.ReceiveSomeAsync(buffer, ct);
            await stream.SendAllAsync(buffer.AsMemory(0, n), ct);
        }, stop.Token);

        await using (SocketStream s = await SocketStream.ConnectTcpAsync("127.0.0.1", endPoint.Port, CancellationToken.None))
        {
            await s.SendAllAsync("hi\n"u8.ToArray(), CancellationToken.None);
            IAsyncEnumerable<string> lines = s.ReadLinesAsync(maxLineLength: 64, CancellationToken.None);
            await foreach (var line in lines)
            {
                Assert.AreEqual("hi", line);
                break;
            }

            IAsyncEnumerable<ReadOnlyMemory<byte>> chunks = s.ReadChunksAsync(CancellationToken.None);
            Assert.IsNotNull(chunks);
        }

        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => serving);
        IAsyncEnumerable<SocketStream> accepted = server.AcceptAllAsync(CancellationToken.None);
        Assert.IsNotNull(accepted);

        await using var p = Subprocess.Start("echo", new[] { "x" });
        IAsyncEnumerable<string> output = p.StandardOutputLinesAsync(CancellationToken.None);
        CollectionAssert.AreEqual(new[] { "x" }, await output.ToListAsync());
        Task<int> exit = p.WaitForExitAsync(CancellationToken.None);
        Assert.AreEqual(0, await exit);
        if (!OperatingSystem.IsWindows())
        {
            IObservable<PosixSignal> signals = Signals.Observe(PosixSignal.SIGWINCH);
            Assert.IsNotNull(signals);
        }
    }

    private static async IAsyncEnumerable<int> AsyncRange(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return i;
        }
    }
}
