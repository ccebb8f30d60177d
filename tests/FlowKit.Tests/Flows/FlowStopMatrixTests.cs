using System.Threading.Tasks.Dataflow;

using FlowKit.Flows;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Flows;

/// <summary>
/// Every stage kind at the head, in the middle and at the tail of a flow whose buffers are full (an endless source, a sink that stopped
/// reading): a failure or a cancellation must stop every stage, leave no producer waiting on a full buffer, and dispose the source.
/// </summary>
[TestClass]
public sealed class FlowStopMatrixTests
{
    private static readonly string[] Kinds =
    [
        "Select", "SelectAsync", "SelectParallelOrdered", "SelectParallelUnordered", "Where", "WhereAsync", "SelectMany", "SelectManyAsync",
        "Batch", "BatchTimed", "Buffer", "RateLimit", "SelectByKey", "Via", "Merge",
    ];

    private static readonly string[] Positions = ["head", "middle", "tail"];

    public static IEnumerable<object[]> Matrix => Kinds.SelectMany(k => Positions.Select(p => new object[] { k, p }));

    [TestMethod]
    [Timeout(30_000)]
    [DynamicData(nameof(Matrix))]
    public async Task StageFails_EveryStageStopsAndTheSourceIsDisposed(string kind, string position)
    {
        var probe = new Probe(failAt: 20);
        var source = new FlowsTestSupport.EndlessSource();
        var flow = Build(Flow.From(source), kind, position, probe);

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => flow.ForEachAsync(async (_, _) => await Task.Yield()));

        Assert.AreEqual("under-test", ex.StageName);
        Assert.AreEqual(20, ex.Item);
        Assert.IsTrue(source.Disposed, "the source is still being read");
        Assert.AreEqual(0, probe.Active, "a stage function is still running after the flow returned");
    }

    [TestMethod]
    [Timeout(30_000)]
    [DynamicData(nameof(Matrix))]
    public async Task Cancelled_WithFullBuffers_ThrowsOperationCanceledAndStopsEverything(string kind, string position)
    {
        var probe = new Probe(failAt: -1);
        var source = new FlowsTestSupport.EndlessSource();
        var name = Guid.NewGuid().ToString("N");
        using var cts = new CancellationTokenSource();
        var (run, sinkBlocked) = StartBlocked(Build(Flow.From(source), kind, position, probe).WithFlowName(name), name, throwOnRelease: false, release: null, cts.Token, out var flowRun);

        await sinkBlocked;
        await WaitForFullBuffersAsync(flowRun);
        cts.Cancel();

        var ex = await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => run);
        Assert.AreEqual(cts.Token, ex.CancellationToken);
        Assert.IsTrue(source.Disposed);
        Assert.AreEqual(0, probe.Active);
    }

    [TestMethod]
    [Timeout(30_000)]
    [DynamicData(nameof(Matrix))]
    public async Task SinkFails_WithFullBuffers_FailsAndReleasesEveryBlockedProducer(string kind, string position)
    {
        var probe = new Probe(failAt: -1);
        var source = new FlowsTestSupport.EndlessSource();
        var name = Guid.NewGuid().ToString("N");
        var release = new TaskCompletionSource();
        var (run, sinkBlocked) = StartBlocked(Build(Flow.From(source), kind, position, probe).WithFlowName(name), name, throwOnRelease: true, release, CancellationToken.None, out var flowRun);

        await sinkBlocked;
        await WaitForFullBuffersAsync(flowRun);
        release.TrySetResult();

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => run);
        Assert.IsInstanceOfType<InvalidOperationException>(ex.InnerException);
        Assert.IsTrue(source.Disposed);
        Assert.AreEqual(0, probe.Active);
    }

    private static (Task Run, Task SinkBlocked) StartBlocked(
        Flow<int> flow, string name, bool throwOnRelease, TaskCompletionSource? release, CancellationToken cancellationToken, out Func<FlowRun?> run)
    {
        FlowRun? captured = null;
        void OnStarting(FlowRun r)
        {
            if (r.FlowName == name)
            {
                captured = r;
            }
        }

        FlowRun.Starting += OnStarting;
        var blocked = new TaskCompletionSource();
        var never = release ?? new TaskCompletionSource();
        var task = flow.ForEachAsync(
            async (_, ct) =>
            {
                blocked.TrySetResult();
                await never.Task.WaitAsync(ct);
                if (throwOnRelease)
                {
                    throw new InvalidOperationException("sink gave up");
                }
            },
            cancellationToken);
        run = () =>
        {
            FlowRun.Starting -= OnStarting;
            return captured;
        };
        return (task, blocked.Task);
    }

    private static async Task WaitForFullBuffersAsync(Func<FlowRun?> getRun)
    {
        var run = getRun();
        Assert.IsNotNull(run);
        await FlowsTestSupport.WaitUntilAsync(() => run.Buffers.Where(b => !b.StageName.EndsWith(" lanes", StringComparison.Ordinal)).All(b => b.Count() >= b.Capacity));
    }

    private static Flow<int> Build(Flow<int> source, string kind, string position, Probe probe) => position switch
    {
        "head" => Stage(source, kind, probe).Buffer(2).Select(x => x),
        "middle" => Stage(source.Buffer(2), kind, probe).Buffer(2),
        _ => Stage(source.Buffer(2).Select(x => x, new StageOptions { Capacity = 2 }), kind, probe),
    };

    private static Flow<int> Stage(Flow<int> flow, string kind, Probe probe)
    {
        var small = new StageOptions { Capacity = 2 };
        return kind switch
        {
            "Select" => flow.Select(probe.Check).Named("under-test"),
            "SelectAsync" => flow.Select(probe.CheckAsync, small).Named("under-test"),
            "SelectParallelOrdered" => flow.Select(probe.CheckAsync, new StageOptions { Capacity = 2, Parallelism = 3 }).Named("under-test"),
            "SelectParallelUnordered" => flow.Select(probe.CheckAsync, new StageOptions { Capacity = 2, Parallelism = 3, Ordered = false }).Named("under-test"),
            "Where" => flow.Where(x => probe.Check(x) >= 0).Named("under-test"),
            "WhereAsync" => flow.Where(async (x, ct) => await probe.CheckAsync(x, ct) >= 0, small).Named("under-test"),
            "SelectMany" => flow.SelectMany(x => new[] { probe.Check(x) }).Named("under-test"),
            "SelectManyAsync" => flow.SelectMany((x, ct) => One(probe, x, ct), small).Named("under-test"),
            "Batch" => flow.Batch(3).SelectMany(b => b).Select(probe.Check).Named("under-test"),
            "BatchTimed" => flow.Batch(3, TimeSpan.FromHours(1)).SelectMany(b => b).Select(probe.Check).Named("under-test"),
            "Buffer" => flow.Buffer(2).Select(probe.Check).Named("under-test"),
            "RateLimit" => flow.RateLimit(1_000_000, TimeSpan.FromSeconds(1)).Select(probe.Check).Named("under-test"),
            "SelectByKey" => flow.SelectByKey(x => x % 3, probe.CheckAsync, new StageOptions { Capacity = 2, Parallelism = 2 }).Named("under-test"),
            "Via" => flow.Via(() => new TransformBlock<int, int>(x => x, new ExecutionDataflowBlockOptions { BoundedCapacity = 2 })).Select(probe.Check).Named("under-test"),
            _ => Flow.Merge(flow, Flow.From(Enumerable.Range(-5, 5))).Where(x => x >= 0).Select(probe.Check).Named("under-test"),
        };
    }

    private static async IAsyncEnumerable<int> One(Probe probe, int x, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        yield return await probe.CheckAsync(x, ct);
    }

    private sealed class Probe(int failAt)
    {
        private int _active;

        public int Active => Volatile.Read(ref _active);

        public int Check(int x)
        {
            Interlocked.Increment(ref _active);
            try
            {
                return x == failAt ? throw new ArithmeticException($"fail at {x}") : x;
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
        }

        public async ValueTask<int> CheckAsync(int x, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _active);
            try
            {
                await Task.Yield();
                return x == failAt ? throw new ArithmeticException($"fail at {x}") : x;
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
        }
    }
}
