using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Runtime.CompilerServices;
using FlowKit.Testing;

namespace FlowKit.Tests.Reactive;

/// <summary>Reliability families 22 and 23 as they apply to the bridges: Rx's case list and the Reactive Streams rules that have a
/// counterpart for a bounded pull over a push source (demand is one <c>MoveNextAsync</c> at a time, bounded by the capacity).</summary>
[TestClass]
public sealed class BackpressureRulesTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task ToAsyncEnumerable_EmptySource_EndsAtOnce()
    {
        var recorder = await Recorder<int>.RecordAsync(Observable.Empty<int>().ToAsyncEnumerable(4, Overflow.Fail));
        Assert.IsTrue(recorder.IsCompleted);
        Assert.IsEmpty(recorder.Values);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ToAsyncEnumerable_NeverSource_CancellationEndsIt()
    {
        using var cts = new CancellationTokenSource();
        var task = Recorder<int>.RecordAsync(Observable.Never<int>().ToAsyncEnumerable(4, Overflow.Wait), cancellationToken: cts.Token);
        cts.Cancel();
        var recorder = await task;
        Assert.IsInstanceOfType<OperationCanceledException>(recorder.Error);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ToObservable_EmptyAndNever_BehaveLikeRx()
    {
        using var empty = Recorder<int>.Subscribe(AsyncEnumerable.Empty<int>().ToObservable());
        await empty.Terminated;
        Assert.IsTrue(empty.IsCompleted);

        var started = new TaskCompletionSource();
        var ended = new TaskCompletionSource();
        var never = Recorder<int>.Subscribe(Never(started, ended).ToObservable());
        await started.Task;
        never.Dispose();
        await ended.Task;
        Assert.IsEmpty(never.Events);
    }

    private static async IAsyncEnumerable<int> Never(TaskCompletionSource started, TaskCompletionSource ended, [EnumeratorCancellation] CancellationToken ct = default)
    {
        started.SetResult();
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            yield break;
        }
        finally
        {
            ended.SetResult();
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Rule_DemandOfZeroOrLess_IsAnError()
    {
        // Reactive Streams 3.9: request(0) or a negative request is an error; here the bound is the demand.
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new Subject<int>().ToAsyncEnumerable(0, Overflow.Wait));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new Subject<int>().ToAsyncEnumerable(int.MinValue, Overflow.Wait));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Rule_LargestCapacity_DoesNotOverflowAnyCounter()
    {
        // Reactive Streams 3.17: demand up to the maximum does not overflow.
        var got = await Observable.Range(0, 1000).ToAsyncEnumerable(int.MaxValue, Overflow.Fail).ToListAsync();
        Assert.HasCount(1000, got);
    }

    [TestMethod]
    [Timeout(20_000)]
    public void Rule_CancelledConsumer_IsDroppedByTheSource_AndCollected()
    {
        // Reactive Streams 3.13: after cancel, the publisher drops its reference to the subscriber.
        var subject = new BehaviorSubject<int>(7);
        var weak = EnumerateAndDispose(subject);
        Assert.IsFalse(subject.HasObservers);
        var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds(300);
        do
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        while (weak.IsAlive && DateTime.UtcNow < deadline);
        Assert.IsFalse(weak.IsAlive, "the disposed enumerator is still reachable");
        subject.OnNext(1); // nobody listens: no error
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference EnumerateAndDispose(BehaviorSubject<int> subject)
    {
        // The subject replays 7 inside Subscribe, so MoveNextAsync completes synchronously and no async state machine holds the enumerator.
        var e = subject.ToAsyncEnumerable(4, Overflow.DropOldest).GetAsyncEnumerator();
        var move = e.MoveNextAsync();
        Assert.IsTrue(move.IsCompletedSuccessfully && move.Result);
        Assert.IsTrue(e.DisposeAsync().IsCompletedSuccessfully);
        return new WeakReference(e);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Rule_SerialSignalling_HundredIterationsOfTenElements()
    {
        // Reactive Streams 1.3: signals are serial - checked by the recorder's overlap detector across both bridges.
        var violations = 0;
        for (var i = 0; i < 100; i++)
        {
            var source = Observable.Range(0, 10).SelectMany(x => Observable.Return(x, System.Reactive.Concurrency.TaskPoolScheduler.Default));
            using var recorder = Recorder<int>.Subscribe(source.ToAsyncEnumerable(4, Overflow.Wait).ToObservable());
            await recorder.Terminated;
            violations += recorder.Violations.Count;
            CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).ToList(), recorder.Values.ToList(), $"iteration {i}");
        }

        Console.WriteLine($"family 23: rules ported 5 (3.9 demand <= 0, 3.17 max demand, 3.13 drop on cancel, 1.3 serial, bounded demand) ; serial-signal violations = {violations}");
        Assert.AreEqual(0, violations);
    }
}
