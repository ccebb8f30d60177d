using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowQueueSourceTests
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task FromAsyncQueue_DrainsUntilShutdown_AndJoinSeesEveryItemDone()
    {
        var queue = new AsyncQueue<int>(maxSize: 4);
        var run = Flow.From(queue).Select((x, _) => new ValueTask<int>(x * 2), new StageOptions { Parallelism = 2 }).ToListAsync();

        for (var i = 0; i < 200; i++)
        {
            await queue.PutAsync(i);
        }

        await queue.JoinAsync();
        queue.Shutdown();

        CollectionAssert.AreEqual(Enumerable.Range(0, 200).Select(x => x * 2).ToList(), await run);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromAsyncQueue_FlowFails_TheQueueIsLeftForOthers()
    {
        var queue = new AsyncQueue<int>();
        for (var i = 0; i < 10; i++)
        {
            queue.PutNowait(i);
        }

        await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(queue).Select(x => x == 3 ? throw new FormatException() : x).CountAsync());

        Assert.AreEqual(6, queue.Count, "the flow took items 0..3 and stopped");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FromReceiveChannel_EndsWhenEverySendCloneIsDisposed()
    {
        var (send, receive) = MemoryChannel.Open<int>(2);
        var run = Flow.From(receive).Buffer(2).ToListAsync();
        var second = send.Clone();

        for (var i = 0; i < 50; i++)
        {
            await (i % 2 == 0 ? send : second).SendAsync(i);
        }

        send.Dispose();
        Assert.IsFalse(run.IsCompleted, "one send clone is still open");
        second.Dispose();

        CollectionAssert.AreEqual(Enumerable.Range(0, 50).ToList(), await run);
        StringAssert.Contains(Flow.From(receive).Describe(), "From(ReceiveChannel)");
    }
}
