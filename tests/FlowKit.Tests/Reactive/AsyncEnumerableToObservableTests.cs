using System.Reactive.Linq;
using System.Runtime.CompilerServices;
using FlowKit.Testing;

namespace FlowKit.Tests.Reactive;

[TestClass]
public sealed class AsyncEnumerableToObservableTests
{
    private sealed class Probe
    {
        public int Started;
        public int Finished;
        public int Produced;
    }

    private static async IAsyncEnumerable<int> Numbers(int count, Probe probe, Exception? error = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        Interlocked.Increment(ref probe.Started);
        try
        {
            for (var i = 0; i < count; i++)
            {
                await Task.Yield();
                ct.ThrowIfCancellationRequested();
                Interlocked.Increment(ref probe.Produced);
                yield return i;
            }

            if (error is not null)
            {
                throw error;
            }
        }
        finally
        {
            Interlocked.Increment(ref probe.Finished);
        }
    }

    private static async IAsyncEnumerable<int> Endless(Probe probe, [EnumeratorCancellation] CancellationToken ct = default)
    {
        Interlocked.Increment(ref probe.Started);
        try
        {
            for (var i = 0; ; i++)
            {
                await Task.Yield();
                ct.ThrowIfCancellationRequested();
                yield return i;
            }
        }
        finally
        {
            Interlocked.Increment(ref probe.Finished);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Subscribe_DeliversEveryItemThenCompletes()
    {
        var probe = new Probe();
        using var recorder = Recorder<int>.Subscribe(Numbers(100, probe).ToObservable());
        await recorder.Terminated;
        CollectionAssert.AreEqual(Enumerable.Range(0, 100).ToList(), recorder.Values.ToList());
        Assert.IsTrue(recorder.IsCompleted);
        Assert.IsEmpty(recorder.Violations);
        Assert.AreEqual(1, probe.Finished);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Cold_EachSubscriptionEnumeratesOnce()
    {
        var probe = new Probe();
        var observable = Numbers(3, probe).ToObservable();
        Assert.AreEqual(0, probe.Started, "nothing runs before a subscription");
        var a = await observable.ToList();
        var b = await observable.ToList();
        CollectionAssert.AreEqual(a.ToList(), b.ToList());
        Assert.AreEqual(2, probe.Started);
        Assert.AreEqual(2, probe.Finished);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task StreamThrows_ObserverGetsOnErrorWithTheSameException()
    {
        var probe = new Probe();
        var boom = new IOException("read failed");
        using var recorder = Recorder<int>.Subscribe(Numbers(2, probe, boom).ToObservable());
        await recorder.Terminated;
        CollectionAssert.AreEqual(new[] { 0, 1 }, recorder.Values.ToList());
        Assert.AreSame(boom, recorder.Error);
        Assert.IsEmpty(recorder.Violations);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Dispose_CancelsTheEnumeration_RunsItsFinally_AndNothingArrivesAfterwards()
    {
        var probe = new Probe();
        var recorder = Recorder<int>.Subscribe(Endless(probe).ToObservable());
        while (recorder.Values.Count < 5)
        {
            await Task.Yield();
        }

        recorder.Dispose();
        var countAtDispose = recorder.Events.Count;
        while (Volatile.Read(ref probe.Finished) == 0)
        {
            await Task.Yield();
        }

        Assert.AreEqual(countAtDispose, recorder.Events.Count, "no call after Dispose returned");
        Assert.IsFalse(recorder.IsCompleted);
        Assert.IsNull(recorder.Error);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task RandomDisposalTiming_GrammarHolds_AndTheEnumeratorIsAlwaysDisposed()
    {
        // Family 22/23: serial signalling, at most one terminal event, nothing after dispose, producer stopped - 500 iterations.
        var random = new Random(7);
        var violations = 0;
        const int Iterations = 500;
        for (var i = 0; i < Iterations; i++)
        {
            var probe = new Probe();
            var recorder = Recorder<int>.Subscribe(Numbers(random.Next(0, 20), probe).ToObservable());
            var spins = random.Next(0, 40);
            for (var s = 0; s < spins && !recorder.Terminated.IsCompleted; s++)
            {
                await Task.Yield();
            }

            recorder.Dispose();
            var atDispose = recorder.Events.Count;
            while (Volatile.Read(ref probe.Started) != Volatile.Read(ref probe.Finished))
            {
                await Task.Yield();
            }

            violations += recorder.Violations.Count;
            Assert.AreEqual(atDispose, recorder.Events.Count, $"iteration {i}: event after dispose");
            var terminals = recorder.Events.Count(e => e.Notification.Kind != System.Reactive.NotificationKind.OnNext);
            Assert.IsLessThanOrEqualTo(1, terminals, $"iteration {i}");
        }

        Console.WriteLine($"family 22 (ToObservable): {Iterations} random disposals, grammar violations = {violations}, enumerators left running = 0");
        Assert.AreEqual(0, violations);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task RoundTrip_ObservableToStreamToObservable_PreservesItemsAndOrder()
    {
        var source = Observable.Range(0, 10_000);
        var back = source.ToAsyncEnumerable(64, Overflow.Wait).ToObservable();
        var list = await back.ToList();
        CollectionAssert.AreEqual(Enumerable.Range(0, 10_000).ToList(), list.ToList());
    }
}
