using System.Collections.Concurrent;

using FlowKit.Tests.TestUtilities;

using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowErrorPolicyTests
{
    public static IEnumerable<object[]> StageShapes =>
    [
        ["fused sync"],
        ["sync with capacity"],
        ["async"],
        ["async parallel ordered"],
        ["async parallel unordered"],
    ];

    [TestMethod]
    [Timeout(30_000)]
    [DynamicData(nameof(StageShapes))]
    public async Task Fail_ItemThrows_FlowStageExceptionNamesStageAndCarriesItemAndOriginal(string shape)
    {
        var original = new FormatException("not a number");
        var flow = Map(Flow.From(Enumerable.Range(0, 100)), shape, x => x == 42 ? throw original : x, FlowErrorPolicy.Fail).Named("parse");

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => flow.ToListAsync());

        Assert.AreEqual("parse", ex.StageName);
        Assert.AreEqual(42, ex.Item);
        Assert.AreSame(original, ex.InnerException);
        StringAssert.Contains(ex.Message, "parse");
    }

    [TestMethod]
    [Timeout(30_000)]
    [DynamicData(nameof(StageShapes))]
    public async Task Skip_ItemThrows_DropsOnlyThatItem(string shape)
    {
        var flow = Map(Flow.From(Enumerable.Range(0, 100)), shape, x => x % 10 == 3 ? throw new FormatException() : x, FlowErrorPolicy.Skip);

        var items = await flow.ToListAsync();

        CollectionAssert.AreEquivalent(Enumerable.Range(0, 100).Where(x => x % 10 != 3).ToList(), items);
    }

    [TestMethod]
    [Timeout(30_000)]
    [DynamicData(nameof(StageShapes))]
    public async Task DeadLetter_ItemThrows_SinkGetsItemAndExceptionAndTheFlowGoesOn(string shape)
    {
        var dead = new ConcurrentQueue<FlowFailure>();
        var policy = FlowErrorPolicy.DeadLetter((f, _) =>
        {
            dead.Enqueue(f);
            return ValueTask.CompletedTask;
        });
        var flow = Map(Flow.From(Enumerable.Range(0, 50)), shape, x => x == 7 ? throw new FormatException("seven") : x, policy).Named("enrich").WithFlowName("orders");

        var items = await flow.ToListAsync();

        Assert.AreEqual(49, items.Count);
        var failure = dead.Single();
        Assert.AreEqual(7, failure.Item);
        Assert.AreEqual("enrich", failure.StageName);
        Assert.AreEqual("orders", failure.FlowName);
        Assert.AreEqual("seven", failure.Exception.Message);
        Assert.AreEqual(1, failure.Attempts);
    }

    [TestMethod]
    [Timeout(30_000)]
    [DynamicData(nameof(StageShapes))]
    public async Task Retry_TransientFailure_SucceedsAfterBackoffOnTheStageClock(string shape)
    {
        var time = new FakeTimeProvider();
        var attempts = new ConcurrentDictionary<int, int>();
        var flow = Map(
            Flow.From(Enumerable.Range(0, 10)),
            shape,
            x => x == 5 && attempts.AddOrUpdate(x, 1, (_, n) => n + 1) <= 2 ? throw new IOException("transient") : x,
            FlowErrorPolicy.Retry(3, TimeSpan.FromSeconds(1), backoffFactor: 2),
            time);

        var run = flow.ToListAsync();
        var elapsed = await FlowsTestSupport.AdvanceUntilAsync(time, run, TimeSpan.FromMilliseconds(250));

        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).ToList(), await run);
        Assert.AreEqual(3, attempts[5]);
        Assert.IsTrue(elapsed >= TimeSpan.FromSeconds(3), $"two retries wait 1 s then 2 s; virtual time advanced {elapsed}");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Retry_ThenSkip_DropsTheItemAfterTheRetries()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var flow = Flow.From(Enumerable.Range(0, 3)).Select(
            x => x == 1 ? throw new IOException($"attempt {Interlocked.Increment(ref calls)}") : x,
            new StageOptions { OnError = FlowErrorPolicy.Retry(2, TimeSpan.FromMilliseconds(100), then: FlowErrorPolicy.Skip), TimeProvider = time });

        var run = flow.ToListAsync();
        await FlowsTestSupport.AdvanceUntilAsync(time, run, TimeSpan.FromMilliseconds(50));

        CollectionAssert.AreEqual(new[] { 0, 2 }, await run);
        Assert.AreEqual(3, calls);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Retry_ThenFail_FailsWithTheLastException()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var flow = Flow.From(new[] { 1 }).Select(
            (x, _) => ValueTask.FromException<int>(new IOException($"attempt {Interlocked.Increment(ref calls)}")),
            new StageOptions { OnError = FlowErrorPolicy.Retry(2, TimeSpan.FromMilliseconds(100)), TimeProvider = time });

        var run = flow.ToListAsync();
        await FlowsTestSupport.AdvanceUntilAsync(time, run, TimeSpan.FromMilliseconds(50));

        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => run);
        Assert.AreEqual("attempt 3", ex.InnerException!.Message);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task DeadLetterSinkThrows_FailsTheFlow()
    {
        var flow = Flow.From(new[] { 1 }).Select(
            x => x == 1 ? throw new FormatException() : x,
            new StageOptions { OnError = FlowErrorPolicy.DeadLetter((_, _) => throw new UnauthorizedAccessException("dlq down")) });

        await Assert.ThrowsExactlyAsync<UnauthorizedAccessException>(() => flow.ToListAsync());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SelectMany_RetryAfterPartialExpansion_EmitsOnlyTheRest()
    {
        var calls = 0;
        IEnumerable<int> Expand(int x)
        {
            var call = Interlocked.Increment(ref calls);
            yield return x;
            yield return x + 1;
            if (call == 1)
            {
                throw new IOException("flaky");
            }

            yield return x + 2;
        }

        var items = await Flow.From(new[] { 10 }).SelectMany(Expand, new StageOptions { OnError = FlowErrorPolicy.Retry(1, TimeSpan.Zero) }).ToListAsync();

        CollectionAssert.AreEqual(new[] { 10, 11, 12 }, items);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ForEachWithOptions_RetriesTheAction()
    {
        var calls = 0;
        var done = new ConcurrentQueue<int>();
        await Flow.From(new[] { 1, 2 }).ForEachAsync(
            (x, _) =>
            {
                if (x == 2 && Interlocked.Increment(ref calls) == 1)
                {
                    throw new IOException("once");
                }

                done.Enqueue(x);
                return ValueTask.CompletedTask;
            },
            new StageOptions { OnError = FlowErrorPolicy.Retry(1, TimeSpan.Zero) });

        CollectionAssert.AreEqual(new[] { 1, 2 }, done.ToArray());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SinkActionThrows_FailsWithStageExceptionNamingTheSink()
    {
        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => Flow.From(new[] { 1, 2 }).Select(x => x).ForEachAsync(x =>
        {
            if (x == 2)
            {
                throw new InvalidOperationException("sink");
            }
        }));

        Assert.AreEqual("ForEach#2", ex.StageName);
        Assert.AreEqual(2, ex.Item);
    }

    [TestMethod]
    [Timeout(30_000)]
    public void RetryPolicy_BadArguments_Throw()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FlowErrorPolicy.Retry(0, TimeSpan.Zero));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FlowErrorPolicy.Retry(1, TimeSpan.FromSeconds(-1)));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FlowErrorPolicy.Retry(1, TimeSpan.Zero, backoffFactor: 0.5));
        Assert.ThrowsExactly<ArgumentException>(() => FlowErrorPolicy.Retry(1, TimeSpan.Zero, then: FlowErrorPolicy.Retry(1, TimeSpan.Zero)));
        Assert.ThrowsExactly<ArgumentNullException>(() => FlowErrorPolicy.DeadLetter(null!));
    }

    private static Flow<int> Map(Flow<int> flow, string shape, Func<int, int> f, FlowErrorPolicy policy, TimeProvider? time = null) => shape switch
    {
        "fused sync" => flow.Select(f, new StageOptions { OnError = policy, TimeProvider = time }),
        "sync with capacity" => flow.Select(f, new StageOptions { OnError = policy, TimeProvider = time, Capacity = 4 }),
        "async" => flow.Select(AsyncOf(f), new StageOptions { OnError = policy, TimeProvider = time }),
        "async parallel ordered" => flow.Select(AsyncOf(f), new StageOptions { OnError = policy, TimeProvider = time, Parallelism = 3 }),
        _ => flow.Select(AsyncOf(f), new StageOptions { OnError = policy, TimeProvider = time, Parallelism = 3, Ordered = false }),
    };

    private static Func<int, CancellationToken, ValueTask<int>> AsyncOf(Func<int, int> f) => async (x, _) =>
    {
        if (x % 2 == 0)
        {
            await Task.Yield();
        }

        return f(x);
    };
}
