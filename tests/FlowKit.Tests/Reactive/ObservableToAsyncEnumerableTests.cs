using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Reactive.Subjects;

namespace FlowKit.Tests.Reactive;

[TestClass]
public sealed class ObservableToAsyncEnumerableTests
{
    /// <summary>A subject that counts subscriptions and unsubscriptions.</summary>
    private sealed class CountingSource<T> : IObservable<T>
    {
        private readonly Subject<T> _subject = new();
        private int _subscribed;
        private int _disposed;

        public int Subscribed => Volatile.Read(ref _subscribed);

        public int Disposed => Volatile.Read(ref _disposed);

        public IObserver<T> Observer => _subject;

        public IDisposable Subscribe(IObserver<T> observer)
        {
            Interlocked.Increment(ref _subscribed);
            var inner = _subject.Subscribe(observer);
            return Disposable.Create(() =>
            {
                Interlocked.Increment(ref _disposed);
                inner.Dispose();
            });
        }
    }

    private static async Task<List<int>> DrainAsync(IAsyncEnumerator<int> e)
    {
        var list = new List<int>();
        while (await e.MoveNextAsync())
        {
            list.Add(e.Current);
        }

        return list;
    }

    [TestMethod]
    [DataRow(1, Overflow.DropOldest)]
    [DataRow(10, Overflow.DropOldest)]
    [DataRow(10_000, Overflow.DropOldest)]
    [DataRow(1, Overflow.DropNewest)]
    [DataRow(10, Overflow.DropNewest)]
    [DataRow(10_000, Overflow.DropNewest)]
    [Timeout(10_000)]
    public async Task Drop_WriteTwiceTheCapacity_KeepsTheExactSurvivors(int capacity, Overflow overflow)
    {
        // A synchronous source: all 2 * capacity items arrive inside Subscribe, before the consumer can take one.
        await using var e = Observable.Range(0, 2 * capacity, System.Reactive.Concurrency.ImmediateScheduler.Instance)
            .ToAsyncEnumerable(capacity, overflow).GetAsyncEnumerator();
        var got = await DrainAsync(e);

        // The buffer is the only storage: of 2 * capacity items, exactly `capacity` survive.
        var all = Enumerable.Range(0, 2 * capacity);
        var expected = overflow == Overflow.DropOldest ? all.Skip(capacity).ToList() : all.Take(capacity).ToList();
        CollectionAssert.AreEqual(expected, got);
        Console.WriteLine($"family 4 ({overflow}, capacity {capacity}): survivors match, dropped = {2 * capacity - got.Count}");
        Assert.AreEqual(capacity, 2 * capacity - got.Count);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(10)]
    [DataRow(1000)]
    [Timeout(10_000)]
    public async Task Fail_Overflows_DeliversTheBufferThenThrowsBufferOverflow_AndUnsubscribes(int capacity)
    {
        // A synchronous source: capacity + 2 items arrive inside Subscribe, before the consumer can take one.
        var disposed = 0;
        var source = Observable.Create<int>(observer =>
        {
            for (var i = 0; i <= capacity + 1; i++)
            {
                observer.OnNext(i);
            }

            return () => Interlocked.Increment(ref disposed);
        });
        await using var e = source.ToAsyncEnumerable(capacity, Overflow.Fail).GetAsyncEnumerator();
        var got = new List<int>();
        for (var i = 0; i < capacity; i++)
        {
            Assert.IsTrue(await e.MoveNextAsync());
            got.Add(e.Current);
        }

        var ex = await Assert.ThrowsExactlyAsync<BufferOverflowException>(async () => await e.MoveNextAsync());
        Assert.AreEqual(capacity, ex.Capacity);
        Assert.AreEqual(capacity, ex.Delivered);
        StringAssert.Contains(ex.Message, $"buffer of {capacity} item(s) was full when the source produced item #{capacity + 1}");
        CollectionAssert.AreEqual(Enumerable.Range(0, capacity).ToList(), got);
        Assert.AreEqual(1, disposed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Wait_SlowConsumer_LosesNothingAndNeverHoldsMoreThanTheCapacity()
    {
        const int Capacity = 8;
        const int Count = 20_000;
        var produced = 0;
        var maxAhead = 0;
        var consumed = 0;
        var source = Observable.Create<int>(observer =>
        {
            for (var i = 0; i < Count; i++)
            {
                observer.OnNext(i);
                var ahead = Interlocked.Increment(ref produced) - Volatile.Read(ref consumed);
                InterlockedMax(ref maxAhead, ahead);
            }

            observer.OnCompleted();
            return Disposable.Empty;
        });
        var expected = 0;
        await foreach (var item in source.ToAsyncEnumerable(Capacity, Overflow.Wait))
        {
            Assert.AreEqual(expected++, item);
            Interlocked.Increment(ref consumed);
            if (item % 1000 == 0)
            {
                await Task.Yield();
            }
        }

        Console.WriteLine($"family 23 (Wait): {Count} items, lost = {Count - expected}, max produced ahead of the consumer = {maxAhead} (capacity {Capacity} + 1 handed over)");
        Assert.AreEqual(Count, expected);
        Assert.IsLessThanOrEqualTo(Capacity + 2, maxAhead);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Wait_ConsumerDisposesWhileTheProducerIsBlocked_ReleasesTheProducer()
    {
        var blocked = new TaskCompletionSource();
        var producerDone = new TaskCompletionSource();
        var source = Observable.Create<int>(observer =>
        {
            observer.OnNext(0);
            observer.OnNext(1);
            blocked.TrySetResult();
            observer.OnNext(2); // blocks: capacity 1, the consumer holds 0 and 1 is buffered
            producerDone.SetResult();
            return Disposable.Empty;
        });
        var e = source.ToAsyncEnumerable(1, Overflow.Wait).GetAsyncEnumerator();
        Assert.IsTrue(await e.MoveNextAsync());
        await blocked.Task;
        await e.DisposeAsync();
        await producerDone.Task;
        Assert.IsFalse(await e.MoveNextAsync(), "a disposed enumerator reports the end");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Wait_OnAnEventLoopThread_FailsClearlyInsteadOfDeadlocking()
    {
        using var loop = new EventLoop();
        var subject = new Subject<int>();
        var gate = new TaskCompletionSource();
        var task = Task.Run(async () =>
        {
            var list = new List<int>();
            await foreach (var x in subject.ToAsyncEnumerable(1, Overflow.Wait))
            {
                // Take at most one item before the loop has emitted all three, so the buffer of one must fill up.
                list.Add(x);
                await gate.Task;
            }

            return list;
        });
        while (!subject.HasObservers)
        {
            await Task.Yield();
        }

        // Emit three items from the loop's thread without letting the consumer run in between.
        loop.RunUntilComplete(() =>
        {
            subject.OnNext(1);
            subject.OnNext(2);
            subject.OnNext(3);
            subject.OnCompleted();
            return Task.CompletedTask;
        });
        gate.SetResult();
        var ex = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => task);
        StringAssert.Contains(ex.Message, "event loop");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SourceError_IsRethrownAfterTheBufferedItems()
    {
        var boom = new FormatException("source failed");
        var source = Observable.Range(0, 3).Concat(Observable.Throw<int>(boom));
        var got = new List<int>();
        var thrown = await Assert.ThrowsExactlyAsync<FormatException>(async () =>
        {
            await foreach (var x in source.ToAsyncEnumerable(10, Overflow.Fail))
            {
                got.Add(x);
            }
        });
        Assert.AreSame(boom, thrown);
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, got);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Cancelled_WhileWaiting_ThrowsWithTheToken_AndUnsubscribes()
    {
        var source = new CountingSource<int>();
        using var cts = new CancellationTokenSource();
        var e = source.ToAsyncEnumerable(4, Overflow.DropOldest).GetAsyncEnumerator(cts.Token);
        var move = e.MoveNextAsync();
        Assert.AreEqual(1, source.Subscribed);
        cts.Cancel();
        var ex = await Assert.ThrowsExactlyAsync<OperationCanceledException>(async () => await move);
        Assert.AreEqual(cts.Token, ex.CancellationToken);
        Assert.AreEqual(1, source.Disposed);
        await e.DisposeAsync();
        Assert.AreEqual(1, source.Disposed);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task EachEnumeration_SubscribesOnce_AndDisposeUnsubscribes()
    {
        var source = new CountingSource<int>();
        var stream = source.ToAsyncEnumerable(4, Overflow.DropNewest);
        for (var i = 1; i <= 3; i++)
        {
            await using (var e = stream.GetAsyncEnumerator())
            {
                var move = e.MoveNextAsync();
                source.Observer.OnNext(i);
                Assert.IsTrue(await move);
                Assert.AreEqual(i, e.Current);
            }

            Assert.AreEqual(i, source.Subscribed);
            Assert.AreEqual(i, source.Disposed);
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task MoveNextAsync_CalledConcurrently_ThrowsInvalidOperation()
    {
        var source = new Subject<int>();
        await using var e = source.ToAsyncEnumerable(4, Overflow.Fail).GetAsyncEnumerator();
        var pending = e.MoveNextAsync();
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => e.MoveNextAsync());
        StringAssert.Contains(ex.Message, "not completed");
        source.OnNext(1);
        Assert.IsTrue(await pending);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void BadArguments_ThrowWithTheArgumentsName()
    {
        var source = new Subject<int>();
        Assert.AreEqual("capacity", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => source.ToAsyncEnumerable(0, Overflow.Wait)).ParamName);
        Assert.AreEqual("capacity", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => source.ToAsyncEnumerable(-1, Overflow.Wait)).ParamName);
        Assert.AreEqual("overflow", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => source.ToAsyncEnumerable(1, (Overflow)42)).ParamName);
        Assert.AreEqual("source", Assert.ThrowsExactly<ArgumentNullException>(() => ((IObservable<int>)null!).ToAsyncEnumerable(1, Overflow.Wait)).ParamName);
        Assert.AreEqual("source", Assert.ThrowsExactly<ArgumentNullException>(() => ((IAsyncEnumerable<int>)null!).ToObservable()).ParamName);
    }

    [TestMethod]
    [DataRow(Overflow.Wait)]
    [DataRow(Overflow.DropOldest)]
    [DataRow(Overflow.DropNewest)]
    [DataRow(Overflow.Fail)]
    [Timeout(60_000)]
    public async Task RandomDisposalTiming_AlwaysUnsubscribesExactlyOnce_AndNeverHangs(Overflow overflow)
    {
        var random = new Random(42 + (int)overflow);
        const int Iterations = 300;
        var items = 0L;
        for (var i = 0; i < Iterations; i++)
        {
            var subscribed = 0;
            var unsubscribed = 0;
            var stopAfter = random.Next(0, 50);
            var source = Observable.Create<int>(observer =>
            {
                Interlocked.Increment(ref subscribed);
                var cts = new CancellationTokenSource();
                _ = Task.Run(() =>
                {
                    for (var n = 0; n < 10_000 && !cts.IsCancellationRequested; n++)
                    {
                        observer.OnNext(n);
                    }

                    observer.OnCompleted();
                });
                return () =>
                {
                    Interlocked.Increment(ref unsubscribed);
                    cts.Cancel();
                };
            });
            using var cancel = new CancellationTokenSource();
            if (random.Next(3) == 0)
            {
                cancel.CancelAfter(random.Next(0, 3));
            }

            try
            {
                var seen = 0;
                await foreach (var x in source.ToAsyncEnumerable(random.Next(1, 16), overflow).WithCancellation(cancel.Token))
                {
                    if (++seen > stopAfter)
                    {
                        break;
                    }

                    items++;
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or BufferOverflowException)
            {
                // both are legitimate endings here
            }

            // Wait subscribes from the thread pool, so a subscription racing the disposal may end just after it.
            while (Volatile.Read(ref unsubscribed) != Volatile.Read(ref subscribed))
            {
                await Task.Yield();
            }

            Assert.IsLessThanOrEqualTo(1, subscribed, $"iteration {i}");
            Assert.AreEqual(subscribed, Volatile.Read(ref unsubscribed), $"iteration {i}");
        }

        Console.WriteLine($"random disposal ({overflow}): {Iterations} iterations, {items} items, hangs = 0, double unsubscribes = 0");
    }
}
