using System.Diagnostics;
using System.Reactive.Linq;

using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Reactive;

/// <summary>
/// Liveness of the Rx bridge (<see cref="ObservableBridge.ToAsyncEnumerable{T}"/>): a push source that emits k items (1 to twice the
/// buffer) and then waits until the consumer has seen them all must see them all delivered promptly, for every overflow policy, whether
/// the source pushes from inside <c>Subscribe</c> or from a thread of its own; a stall (the source's wait running out) is a failure.
/// </summary>
[TestClass]
public sealed class ObservableBridgeLivenessTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120_000)]
    [DataRow(Overflow.Wait)]
    [DataRow(Overflow.DropOldest)]
    [DataRow(Overflow.DropNewest)]
    [DataRow(Overflow.Fail)]
    public async Task SourceWaitsForTheConsumer_EveryItemArrives(Overflow overflow)
    {
        var iterations = FlowsTestSupport.Stress ? 5_000 : 300;
        var random = new Random(42 + (int)overflow);
        var latencies = new List<double>();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            var capacity = random.Next(1, 9);

            // Only Wait keeps every item whatever the consumer's speed: the other policies get a buffer that holds the whole burst.
            var k = overflow == Overflow.Wait ? random.Next(1, (2 * capacity) + 1) : random.Next(1, capacity + 1);
            var fromOwnThread = random.Next(2) == 0;
            var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stalled = false;
            long lastAt = 0;
            var source = Observable.Create<int>(async (observer, ct) =>
            {
                if (fromOwnThread)
                {
                    await Task.Yield();
                }

                for (var x = 0; x < k; x++)
                {
                    observer.OnNext(x);
                }

                lastAt = Stopwatch.GetTimestamp();
                try
                {
                    await allSeen.Task.WaitAsync(Bound, ct);
                }
                catch (TimeoutException)
                {
                    stalled = true;
                }

                observer.OnCompleted();
            });

            var seen = new List<int>();
            await foreach (var x in source.ToAsyncEnumerable(capacity, overflow))
            {
                seen.Add(x);
                if (seen.Count == k)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(lastAt).TotalMilliseconds);
                    allSeen.TrySetResult();
                }
            }

            Assert.IsFalse(stalled, $"iteration {i} ({overflow}, capacity {capacity}, k {k}, own thread {fromOwnThread}): STALL with {seen.Count} of {k} items");
            CollectionAssert.AreEqual(Enumerable.Range(0, k).ToList(), seen, $"iteration {i} ({overflow}, capacity {capacity}, k {k})");
        }

        latencies.Sort();
        var line = $"Rx bridge liveness, {overflow}: {iterations} runs, stalls 0, latency after the last push p50 {latencies[latencies.Count / 2]:F3} ms, " +
                   $"p99 {latencies[(int)(latencies.Count * 0.99)]:F3} ms, in {watch.ElapsedMilliseconds} ms";
        Console.WriteLine(line);
        TestContext.WriteLine(line);
    }
}
