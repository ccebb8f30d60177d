using System.Diagnostics;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using CsCheck;

namespace FlowKit.Tests.Reactive;

/// <summary>
/// Family 22/23 with CsCheck: random interleavings of source events (OnNext, OnCompleted, OnError), consumer takes and disposal
/// against a bounded buffer, checked step by step against a reference model of the buffer and its overflow policy.
/// </summary>
[TestClass]
public sealed class BridgeModelTests
{
    private static readonly Overflow[] Policies = [Overflow.DropOldest, Overflow.DropNewest, Overflow.Fail];

    [TestMethod]
    [Timeout(60_000)]
    public void ToAsyncEnumerable_RandomOperations_MatchTheReferenceModel()
    {
        var iterations = Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1" ? 20_000 : 2_000;
        var watch = Stopwatch.StartNew();
        var events = 0L;
        Gen.Select(Gen.Int[1, 4], Gen.Int[0, 2], Gen.Int[0, 11].Array[0, 80])
            .Sample((capacity, policyIndex, ops) => events += Run(capacity, Policies[policyIndex], ops), iter: iterations);
        Console.WriteLine($"family 22/23 (CsCheck model): {iterations} random runs, {events} events, violations = 0, {watch.ElapsedMilliseconds} ms");
    }

    private static int Run(int capacity, Overflow policy, int[] ops)
    {
        var subject = new Subject<int>();

        // A synchronous -1 first, so the first MoveNextAsync subscribes and completes at once; from then on the subject feeds the buffer.
        var e = Observable.Return(-1).Concat(subject).ToAsyncEnumerable(capacity, policy).GetAsyncEnumerator();
        var first = e.MoveNextAsync();
        Assert.IsTrue(first.IsCompletedSuccessfully && first.Result && e.Current == -1);

        var model = new Queue<int>();
        Exception? error = null;
        var completed = false;
        var disposed = false;
        var next = 0;
        var boom = new FormatException("source error");
        foreach (var op in ops)
        {
            var terminal = completed || error is not null || disposed;
            switch (op)
            {
                case <= 6:
                    var value = next++;
                    subject.OnNext(value);
                    if (terminal)
                    {
                        break;
                    }

                    if (model.Count < capacity)
                    {
                        model.Enqueue(value);
                    }
                    else if (policy == Overflow.DropOldest)
                    {
                        model.Dequeue();
                        model.Enqueue(value);
                    }
                    else if (policy == Overflow.Fail)
                    {
                        error = new BufferOverflowException(capacity, 0);
                    }

                    break;
                case 7 or 8:
                    // Take: only when the model says the answer is ready, so the call completes synchronously.
                    if (disposed)
                    {
                        Assert.IsFalse(e.MoveNextAsync().Result, "a disposed enumerator reports the end");
                    }
                    else if (model.Count > 0)
                    {
                        var move = e.MoveNextAsync();
                        Assert.IsTrue(move.IsCompletedSuccessfully && move.Result);
                        Assert.AreEqual(model.Dequeue(), e.Current);
                    }
                    else if (error is not null)
                    {
                        var thrown = Assert.Throws<Exception>(() => e.MoveNextAsync());
                        Assert.AreEqual(error.GetType(), thrown.GetType());
                    }
                    else if (completed)
                    {
                        Assert.IsFalse(e.MoveNextAsync().Result);
                    }

                    break;
                case 9:
                    subject.OnCompleted();
                    completed |= !terminal;
                    subject = new Subject<int>(); // later events go nowhere, like a source that ended
                    break;
                case 10:
                    subject.OnError(boom);
                    if (!terminal)
                    {
                        error = boom;
                    }

                    subject = new Subject<int>();
                    break;
                default:
                    Assert.IsTrue(e.DisposeAsync().IsCompletedSuccessfully);
                    disposed = true;
                    model.Clear();
                    break;
            }
        }

        Assert.IsTrue(e.DisposeAsync().IsCompletedSuccessfully);
        return ops.Length;
    }
}
