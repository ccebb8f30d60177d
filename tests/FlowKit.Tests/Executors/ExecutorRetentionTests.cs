using System.Runtime.CompilerServices;

using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

namespace FlowKit.Tests.Executors;

/// <summary>A finished item (its delegate, input and result) must be collectable as soon as the caller drops its task: neither a
/// long-lived cancellation token nor the worker thread that ran it may keep it alive.</summary>
[TestClass]
public sealed class ExecutorRetentionTests
{
    [TestMethod]
    [Timeout(60_000)]
    [DataRow(1)]
    [DataRow(4)]
    public async Task ThreadSubmit_ThousandsWithOneLongLivedToken_EveryInputAndResultCollectable(int workers)
    {
        await using var executor = new ThreadExecutor(workers);
        using var lifetime = new CancellationTokenSource();
        var count = ExecutorsTestWorkers.Stress ? 200_000 : 20_000;
        var refs = await SubmitTracked(executor, count, lifetime.Token);
        var (inputs, results) = await CountAliveAsync(refs);
        Console.WriteLine($"{count} submits with one token on {workers} worker(s): inputs alive {inputs}, results alive {results}");
        Assert.AreEqual(0, inputs, "inputs kept alive after their tasks were dropped");
        Assert.AreEqual(0, results, "results kept alive after their tasks were dropped");
        GC.KeepAlive(lifetime);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ThreadSubmit_WithoutToken_WorkersDoNotHoldTheirLastItem()
    {
        await using var executor = new ThreadExecutor(4);
        var refs = await SubmitTracked(executor, 64, CancellationToken.None);
        var (inputs, results) = await CountAliveAsync(refs);
        Assert.AreEqual(0, inputs + results, $"inputs alive {inputs}, results alive {results}: an idle worker still holds its last item");
    }

    [TestMethod]
    [Timeout(30_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task ThreadMapAsync_AfterTheEnumeration_NoResultHeldByAWorker(bool ordered)
    {
        await using var executor = new ThreadExecutor(4);
        var refs = await MapTracked(executor, 64, ordered);
        await CollectUntilAsync(() => refs.All(static r => !r.IsAlive));
        var alive = refs.Count(static r => r.IsAlive);
        Assert.AreEqual(0, alive, $"{alive} of {refs.Length} results still reachable while the executor idles");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ProcessSubmitAndMap_WithOneLongLivedToken_EveryResultCollectable()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        using var lifetime = new CancellationTokenSource();
        var refs = await ProcessTracked(pool, 300, lifetime.Token);
        await CollectUntilAsync(() => refs.All(static r => !r.IsAlive));
        var alive = refs.Count(static r => r.IsAlive);
        var aliveAt = string.Join(",", Enumerable.Range(0, refs.Length).Where(i => refs[i].IsAlive).Take(20));
        Assert.AreEqual(0, alive, $"{alive} of {refs.Length} process results still reachable (first indices {aliveAt}; 0..299 submitted, 300.. mapped)");
        GC.KeepAlive(lifetime);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<(WeakReference[] Inputs, WeakReference[] Results)> SubmitTracked(ThreadExecutor executor, int count, CancellationToken token)
    {
        var inputs = new WeakReference[count];
        var results = new WeakReference[count];
        // Small bursts, each awaited, so the workers are idle and spinning when the next burst arrives: an item is then often
        // taken and finished before SubmitAsync has returned, which is the window a late registration leaks in.
        var tasks = new Task[8];
        for (var i = 0; i < count; i += tasks.Length)
        {
            for (var j = 0; j < tasks.Length; j++)
            {
                tasks[j] = i + j < count ? SubmitOne(executor, i + j, inputs, results, token) : Task.CompletedTask;
            }

            await Task.WhenAll(tasks);
        }

        Array.Clear(tasks);
        return (inputs, results);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Task SubmitOne(ThreadExecutor executor, int i, WeakReference[] inputs, WeakReference[] results, CancellationToken token)
    {
        var data = new byte[1024];
        inputs[i] = new WeakReference(data);
        return executor.SubmitAsync(static s =>
        {
            var result = new byte[1024];
            s.Results[s.Index] = new WeakReference(result);
            return result;
        }, (Index: i, Data: data, Results: results), token);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference[]> MapTracked(ThreadExecutor executor, int count, bool ordered)
    {
        var refs = new WeakReference[count];
        var seen = 0;
        await using (var results = executor.MapAsync(i =>
        {
            var result = new int[256];
            result[0] = i;
            refs[i] = new WeakReference(result);
            return result;
        }, Enumerable.Range(0, count), ordered).GetAsyncEnumerator())
        {
            // The values are looked at only inside this frame's synchronous part: no local of the test keeps one alive.
            while (await results.MoveNextAsync())
            {
                seen += results.Current.Length > 0 ? 1 : 0;
            }
        }

        Assert.AreEqual(count, seen);
        return refs;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference[]> ProcessTracked(ProcessExecutor pool, int count, CancellationToken token)
    {
        var refs = new List<WeakReference>();
        for (var i = 0; i < count; i++)
        {
            refs.Add(await TrackOne(pool.SubmitAsync(TestWork.Echo, "submitted " + i, token)));
        }

        await using (var results = pool.MapAsync(TestWork.Echo, Enumerable.Range(0, count).Select(static i => "mapped " + i), ordered: true, token).GetAsyncEnumerator())
        {
            while (await results.MoveNextAsync())
            {
                refs.Add(new WeakReference(results.Current));
            }
        }

        return [.. refs];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> TrackOne(Task<string> task) => new(await task);

    private static async Task<(int Inputs, int Results)> CountAliveAsync((WeakReference[] Inputs, WeakReference[] Results) refs)
    {
        await CollectUntilAsync(() => refs.Inputs.All(static r => !r.IsAlive) && refs.Results.All(static r => !r!.IsAlive));
        return (refs.Inputs.Count(static r => r.IsAlive), refs.Results.Count(static r => r!.IsAlive));
    }

    /// <summary>A full collection from a fresh thread-pool work item: the frames that completed the last task (which unoptimised
    /// code may keep reporting temporaries from) are then off the stack, so only real references keep an object alive.</summary>
    /// <remarks>Upstream's test_free_reference retries its collection for the same reason: a thread-pool thread that has just
    /// completed a task may report it from its stack for an instant. A reference the executor really keeps survives every try.</remarks>
    private static async Task CollectUntilAsync(Func<bool> collected)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await Task.Yield();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            if (collected())
            {
                return;
            }
        }
    }
}
