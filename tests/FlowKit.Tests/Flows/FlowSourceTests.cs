using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;

using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowSourceTests
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task FromEnumerable_RunTwice_ReadsTheSourceAgain()
    {
        var flow = Flow.From(Enumerable.Range(1, 5));

        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5 }, await flow.ToListAsync());
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5 }, await flow.ToListAsync());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromEnumerable_SourceThrows_FailsWithStageExceptionNamingTheSource()
    {
        static IEnumerable<int> Broken()
        {
            yield return 1;
            throw new InvalidDataException("bad source");
        }

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(Broken()).Named("reader").ToListAsync());

        Assert.AreEqual("reader", ex.StageName);
        Assert.IsInstanceOfType<InvalidDataException>(ex.InnerException);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromAsyncEnumerable_EmitsEveryItemInOrder()
    {
        var items = await Flow.From(FlowsTestSupport.RangeAsync(0, 100)).ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 100).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromChannel_ReadsUntilTheWriterCompletes()
    {
        var channel = Channel.CreateBounded<int>(4);
        var producing = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await channel.Writer.WriteAsync(i);
            }

            channel.Writer.Complete();
        });

        var items = await Flow.From(channel.Reader).ToListAsync();
        await producing;

        CollectionAssert.AreEqual(Enumerable.Range(0, 50).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromChannel_CompletedWithError_FailsWithThatError()
    {
        var channel = Channel.CreateUnbounded<int>();
        channel.Writer.TryWrite(1);
        channel.Writer.Complete(new TimeoutException("upstream died"));

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(channel.Reader).ToListAsync());

        Assert.IsInstanceOfType<TimeoutException>(ex.InnerException);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromSourceBlock_ReceivesEverythingThenCompletes()
    {
        var block = new BufferBlock<int>();
        for (var i = 0; i < 20; i++)
        {
            block.Post(i);
        }

        block.Complete();

        CollectionAssert.AreEqual(Enumerable.Range(0, 20).ToList(), await Flow.From(block).ToListAsync());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromSourceBlock_Faulted_FailsTheFlow()
    {
        var block = new BufferBlock<int>();
        ((IDataflowBlock)block).Fault(new InvalidOperationException("block fault"));

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(block).ToListAsync());

        Assert.IsInstanceOfType<InvalidOperationException>(ex.InnerException);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromObservable_Wait_DeliversEveryItemOfAFastSynchronousSource()
    {
        var items = await Flow.From(Observable.Range(0, 2_000), capacity: 4, Overflow.Wait).ToListAsync();

        CollectionAssert.AreEqual(Enumerable.Range(0, 2_000).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromObservable_OnError_FailsTheFlow()
    {
        var source = Observable.Range(0, 3).Concat(Observable.Throw<int>(new ArithmeticException("boom")));

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(source, 8, Overflow.Wait).ToListAsync());

        Assert.IsInstanceOfType<ArithmeticException>(ex.InnerException);
    }

    [TestMethod]
    [Timeout(30_000)]
    [DataRow(1)]
    [DataRow(10)]
    [DataRow(10_000)]
    public async Task FromObservable_DropOldest_KeepsTheNewestCapacityItems(int capacity)
    {
        var (items, _) = await RunWithBlockedConsumerAsync(capacity, Overflow.DropOldest);

        CollectionAssert.AreEqual(Enumerable.Range(capacity, capacity).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    [DataRow(1)]
    [DataRow(10)]
    [DataRow(10_000)]
    public async Task FromObservable_DropNewest_KeepsTheFirstCapacityItems(int capacity)
    {
        var (items, _) = await RunWithBlockedConsumerAsync(capacity, Overflow.DropNewest);

        CollectionAssert.AreEqual(Enumerable.Range(0, capacity).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromObservable_Fail_FailsWhenTheBufferOverflows()
    {
        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => RunWithBlockedConsumerAsync(10, Overflow.Fail));

        var overflow = (BufferOverflowException)ex.InnerException!;
        Assert.AreEqual(10, overflow.Capacity);
        Assert.AreEqual(11L, overflow.Delivered, "the sentinel plus the 10 items that filled the buffer");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromObservable_RunStops_DisposesTheSubscription()
    {
        var disposed = new TaskCompletionSource();
        var source = Observable.Create<int>(observer =>
        {
            observer.OnNext(1);
            return () => disposed.TrySetResult();
        });

        await foreach (var item in Flow.From(source, 4, Overflow.Wait).ToAsyncEnumerable())
        {
            Assert.AreEqual(1, item);
            break;
        }

        await disposed.Task;
    }

    /// <summary>Pushes a sentinel, waits until the consumer is blocked on it, pushes 2 × capacity items into the bridge buffer, then lets the
    /// consumer go: what it sees after the sentinel is exactly what the overflow policy kept.</summary>
    private static async Task<(List<int> Items, int Pushed)> RunWithBlockedConsumerAsync(int capacity, Overflow overflow)
    {
        var subject = new Subject<int>();
        var subscribed = new TaskCompletionSource();
        var blocked = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var source = Observable.Create<int>(observer =>
        {
            var subscription = subject.Subscribe(observer);
            subscribed.TrySetResult();
            return subscription;
        });
        var items = new List<int>();
        var run = Flow.From(source, capacity, overflow).ForEachAsync(
            async (x, ct) =>
            {
                if (x == -1)
                {
                    blocked.TrySetResult();
                    await release.Task.WaitAsync(ct);
                    return;
                }

                items.Add(x);
            });
        await subscribed.Task;
        subject.OnNext(-1);
        await blocked.Task;
        for (var i = 0; i < 2 * capacity; i++)
        {
            subject.OnNext(i);
        }

        subject.OnCompleted();
        release.TrySetResult();
        await run;
        return (items, 2 * capacity);
    }
}
