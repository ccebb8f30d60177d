using System.Reactive.Linq;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;

using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowSinkTests
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task CountAsync_CountsItems()
    {
        Assert.AreEqual(333L, await Flow.From(Enumerable.Range(0, 1000)).Where(x => x % 3 == 1).CountAsync());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToAsyncEnumerable_YieldsEveryItemInOrder()
    {
        var items = new List<int>();
        await foreach (var item in Flow.From(Enumerable.Range(0, 300)).Select((x, _) => new ValueTask<int>(x)).ToAsyncEnumerable())
        {
            items.Add(item);
        }

        CollectionAssert.AreEqual(Enumerable.Range(0, 300).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToAsyncEnumerable_BreakEarly_StopsEveryStageBeforeDisposeReturns()
    {
        for (var i = 0; i < 200; i++)
        {
            var source = new FlowsTestSupport.EndlessSource();
            var seen = 0;
            await foreach (var item in Flow.From(source).Select((x, _) => new ValueTask<int>(x), new StageOptions { Parallelism = 2 }).Buffer(4).ToAsyncEnumerable())
            {
                if (++seen == 10)
                {
                    break;
                }
            }

            Assert.IsTrue(source.Disposed, "breaking out left the source running");
            var produced = source.Produced;
            Assert.AreEqual(produced, source.Produced);
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToAsyncEnumerable_StageFails_MoveNextThrowsTheStageException()
    {
        var flow = Flow.From(Enumerable.Range(0, 10)).Select(x => x == 5 ? throw new FormatException() : x).Named("bad");

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(async () =>
        {
            await foreach (var _ in flow.ToAsyncEnumerable())
            {
            }
        });

        Assert.AreEqual("bad", ex.StageName);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToAsyncEnumerable_CallerCancels_ThrowsWithTheCallersToken()
    {
        using var cts = new CancellationTokenSource();
        var source = new FlowsTestSupport.EndlessSource();

        // TaskCanceledException or OperationCanceledException: either is the caller's cancellation.
        var ex = await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in Flow.From(source).Buffer(2).ToAsyncEnumerable(cts.Token))
            {
                if (item == 3)
                {
                    cts.Cancel();
                }
            }
        });

        Assert.AreEqual(cts.Token, ex.CancellationToken);
        Assert.IsTrue(source.Disposed);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToObservable_PushesEveryItemThenCompletes()
    {
        var items = await Flow.From(Enumerable.Range(0, 50)).Buffer(3).ToObservable().ToList();

        CollectionAssert.AreEqual(Enumerable.Range(0, 50).ToList(), items.ToList());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToObservable_StageFails_OnError()
    {
        var observable = Flow.From(Enumerable.Range(0, 50)).Select(x => x == 9 ? throw new FormatException() : x).ToObservable();

        await Assert.ThrowsExactlyAsync<FlowStageException>(async () => await observable.ToList());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToObservable_Dispose_StopsTheRun()
    {
        var source = new FlowsTestSupport.EndlessSource();

        var first = await Flow.From(source).Buffer(2).ToObservable().Take(5).ToList();

        Assert.AreEqual(5, first.Count);
        await FlowsTestSupport.WaitUntilAsync(() => source.Disposed);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToChannelAsync_WritesEverythingAndCompletesTheWriter()
    {
        var channel = Channel.CreateBounded<int>(2);
        var run = Flow.From(Enumerable.Range(0, 100)).ToChannelAsync(channel.Writer);

        var items = new List<int>();
        await foreach (var item in channel.Reader.ReadAllAsync())
        {
            items.Add(item);
        }

        await run;
        CollectionAssert.AreEqual(Enumerable.Range(0, 100).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToChannelAsync_Fails_CompletesTheWriterWithTheFailure()
    {
        var channel = Channel.CreateUnbounded<int>();

        await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(new[] { 1, 2 }).Select(x => x == 2 ? throw new FormatException() : x).ToChannelAsync(channel.Writer));

        Assert.IsTrue(channel.Reader.TryRead(out var first));
        Assert.AreEqual(1, first);
        await Assert.ThrowsExactlyAsync<FlowStageException>(() => channel.Reader.Completion);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ToChannel_InNursery_NurseryOwnsTheRun()
    {
        var items = new List<int>();
        await Nursery.RunAsync(async nursery =>
        {
            var reader = Flow.From(Enumerable.Range(0, 20)).ToChannel(nursery, capacity: 2);
            await foreach (var item in reader.ReadAllAsync(nursery.CancellationToken))
            {
                items.Add(item);
            }
        });

        CollectionAssert.AreEqual(Enumerable.Range(0, 20).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task LinkToAsync_FeedsABoundedTargetAndCompletesIt()
    {
        var seen = new List<int>();
        var target = new ActionBlock<int>(seen.Add, new ExecutionDataflowBlockOptions { BoundedCapacity = 2 });

        await Flow.From(Enumerable.Range(0, 100)).LinkToAsync(target);
        await target.Completion;

        CollectionAssert.AreEqual(Enumerable.Range(0, 100).ToList(), seen);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task LinkToAsync_TargetFaults_FailsTheFlow()
    {
        var target = new ActionBlock<int>(x => x == 3 ? throw new FormatException() : Task.CompletedTask, new ExecutionDataflowBlockOptions { BoundedCapacity = 1 });

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(new FlowsTestSupport.EndlessSource()).LinkToAsync(target));

        StringAssert.Contains(ex.Message, "declined");
        await Assert.ThrowsExactlyAsync<FormatException>(() => target.Completion);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task LinkTo_IsTheSameSinkAsLinkToAsync()
    {
        var seen = new List<int>();
        var target = new ActionBlock<int>(seen.Add, new ExecutionDataflowBlockOptions { BoundedCapacity = 1 });

        await Flow.From(Enumerable.Range(0, 10)).Select(x => x * 2).LinkTo(target);
        await target.Completion;

        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(x => x * 2).ToList(), seen);
    }
}
