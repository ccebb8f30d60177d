using System.Reactive.Linq;
using System.Threading.Channels;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowArgumentTests
{
    private static readonly Flow<int> Some = Flow.From([1, 2, 3]);

    [TestMethod]
    [Timeout(30_000)]
    [DataRow(0, null)]
    [DataRow(1025, null)]
    [DataRow(1, 0)]
    [DataRow(1, (1 << 20) + 1)]
    public void StageOptions_OutOfRange_ThrowsNamingTheOption(int parallelism, int? capacity)
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Some.Select(x => x, new StageOptions { Parallelism = parallelism, Capacity = capacity }));

        StringAssert.Contains(ex.Message, parallelism is 0 or 1025 ? "options.Parallelism" : "options.Capacity");
    }

    [TestMethod]
    [Timeout(30_000)]
    public void StageOptions_NullPolicyOrBlankName_Throw()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => Some.Select(x => x, new StageOptions { OnError = null! }));
        Assert.ThrowsExactly<ArgumentException>(() => Some.Select(x => x, new StageOptions { Name = " " }));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task StageOptions_AreCopied_LaterChangesHaveNoEffect()
    {
        var options = new StageOptions { Parallelism = 2, Capacity = 4 };
        var flow = Some.Select((x, _) => new ValueTask<int>(x), options);
        options.Parallelism = 0;
        options.Capacity = -5;

        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, await flow.ToListAsync());
        StringAssert.Contains(flow.Describe(), "parallelism 2");
    }

    [TestMethod]
    [Timeout(30_000)]
    public void Factories_NullOrOutOfRange_Throw()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => Flow.From((IEnumerable<int>)null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => Flow.From((IAsyncEnumerable<int>)null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => Flow.From((ChannelReader<int>)null!));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Flow.From(Observable.Return(1), 0, Overflow.Wait));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Flow.From(Observable.Return(1), 1, (Overflow)42));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Flow.Merge<int>());
        Assert.ThrowsExactly<ArgumentNullException>(() => Flow.Merge(new[] { Some, null! }));
    }

    [TestMethod]
    [Timeout(30_000)]
    public void Operators_OutOfRange_Throw()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Some.Batch(0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Some.Batch(1, TimeSpan.Zero));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Some.Buffer(0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Some.RateLimit(0, TimeSpan.FromSeconds(1)));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Some.RateLimit(1, TimeSpan.Zero));
        Assert.ThrowsExactly<ArgumentException>(() => Some.Named(""));
        Assert.ThrowsExactly<ArgumentNullException>(() => Some.Select((Func<int, int>)null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => Some.Where((Func<int, bool>)null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => Some.Via<int, int>((System.Threading.Tasks.Dataflow.IPropagatorBlock<int, int>)null!));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new BroadcastSink<int>("x", (_, _) => Task.CompletedTask) { Capacity = 0 });
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Some.BroadcastAsync([]));
        Assert.ThrowsExactly<ArgumentNullException>(() => Some.ToChannel(null!, 1));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task AlreadyCancelledToken_ThrowsOperationCanceledWithoutRunning()
    {
        var ran = false;
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => Some.Select(x => ran = true).ToListAsync(cts.Token));

        Assert.IsFalse(ran);
    }
}
