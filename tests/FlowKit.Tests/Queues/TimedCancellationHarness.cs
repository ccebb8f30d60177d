using System.Collections.Concurrent;
using System.Diagnostics;

namespace FlowKit.Tests.Queues;

/// <summary>
/// Producers and consumers whose puts and gets are cancelled at random instants 0-300 µs after they start (a busy wait on the
/// monotonic clock, so the cancel lands at microsecond granularity, often exactly while a peer completes the same operation).
/// Every put attempt carries its own id, and the harness records whether that put reported success or cancellation; at the end
/// the ids delivered (by gets that reported success, plus the final drain) must be exactly the ids of the puts that reported
/// success: a cancelled put that still inserted its item ("phantom"), a successful put whose item never came out or a get that
/// reported cancellation after taking an item ("lost"), and an item delivered twice are all counted.
/// </summary>
internal static class TimedCancellationHarness
{
    private const byte Succeeded = 1;
    private const byte Cancelled = 2;

    /// <summary>Runs <paramref name="items"/> successful puts through <paramref name="q"/> under random timed cancellation.</summary>
    /// <param name="q">The queue (fresh).</param>
    /// <param name="producers">Producer tasks.</param>
    /// <param name="consumers">Consumer tasks.</param>
    /// <param name="items">Successful puts to reach.</param>
    /// <param name="maxDelayMicroseconds">Cancels land uniformly in [0, this] µs after the operation started.</param>
    /// <param name="seed">Seeds the per-task random generators.</param>
    public static async Task<Result> RunAsync(QueueUnderTest q, int producers, int consumers, int items, int maxDelayMicroseconds, int seed)
    {
        // Every attempt gets an id; cancelled puts are retried with a new id, so ids run past items (bounded by the array).
        var maxAttempts = items * 8;
        var putOutcome = new byte[maxAttempts];
        var delivered = new int[maxAttempts];
        var nextId = -1;
        var successes = 0;
        long cancelledPuts = 0, cancelledGets = 0;
        var ticksPerMicrosecond = Stopwatch.Frequency / 1_000_000.0;
        var clock = Stopwatch.StartNew();
        var canceller = new Canceller(ticksPerMicrosecond);

        var consumerTasks = Enumerable.Range(0, consumers).Select(c => Task.Run(async () =>
        {
            var random = new Random(seed * 7919 + 1000 + c);
            long localCancelled = 0;
            while (true)
            {
                var cts = new CancellationTokenSource();
                var get = q.GetAsync(cts.Token);
                if (get.IsCompleted)
                {
                    cts.Dispose();
                }
                else
                {
                    canceller.Schedule(cts, random.Next(maxDelayMicroseconds + 1));
                }

                try
                {
                    var id = await get;
                    Interlocked.Increment(ref delivered[id]);
                    Work(random, maxDelayMicroseconds / 3, ticksPerMicrosecond);
                }
                catch (OperationCanceledException)
                {
                    localCancelled++;
                }
                catch (Exception e) when (e.GetType() == q.GetClosedException)
                {
                    break;
                }
            }

            Interlocked.Add(ref cancelledGets, localCancelled);
        })).ToArray();

        var producerTasks = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var random = new Random(seed * 7919 + p);
            long localCancelled = 0;
            while (Volatile.Read(ref successes) < items)
            {
                var id = Interlocked.Increment(ref nextId);
                if (id >= maxAttempts)
                {
                    throw new InvalidOperationException($"more than {maxAttempts} put attempts for {items} items");
                }

                var cts = new CancellationTokenSource();
                var put = q.PutAsync(id, cts.Token);
                if (put.IsCompleted)
                {
                    cts.Dispose();
                }
                else
                {
                    canceller.Schedule(cts, random.Next(maxDelayMicroseconds + 1));
                }

                try
                {
                    await put;
                    putOutcome[id] = Succeeded;
                    Interlocked.Increment(ref successes);
                    Work(random, maxDelayMicroseconds / 3, ticksPerMicrosecond);
                }
                catch (OperationCanceledException)
                {
                    putOutcome[id] = Cancelled;
                    localCancelled++;
                }
            }

            Interlocked.Add(ref cancelledPuts, localCancelled);
        })).ToArray();

        await Task.WhenAll(producerTasks);
        q.Close();
        await Task.WhenAll(consumerTasks);
        canceller.Dispose();
        var cancelsFired = canceller.Fired;
        while (q.TryGet(out var left))
        {
            delivered[left]++;
        }

        clock.Stop();
        int lost = 0, phantom = 0, duplicated = 0, successful = 0;
        for (var id = 0; id < maxAttempts; id++)
        {
            var ok = putOutcome[id] == Succeeded;
            successful += ok ? 1 : 0;
            if (delivered[id] > 1)
            {
                duplicated++;
            }
            else if (ok && delivered[id] == 0)
            {
                lost++;
            }
            else if (!ok && delivered[id] == 1)
            {
                phantom++;
            }
        }

        return new Result(successful, lost, phantom, duplicated, cancelledPuts, cancelledGets, cancelsFired, clock.Elapsed);
    }

    /// <summary>Busy work of a random 0..max µs between operations (a third of the cancel range), so the peer's operations are often
    /// still pending when their cancel lands.</summary>
    private static void Work(Random random, int maxMicroseconds, double ticksPerMicrosecond)
    {
        var until = Stopwatch.GetTimestamp() + (long)(random.Next(maxMicroseconds + 1) * ticksPerMicrosecond);
        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(20);
        }
    }

    /// <summary>
    /// One thread that cancels each scheduled source at its instant (a busy wait on the monotonic clock: timers are far too coarse
    /// for microseconds), so cancels land from a third thread, as a timer's would, while the queue's own threads complete operations.
    /// </summary>
    private sealed class Canceller : IDisposable
    {
        private readonly ConcurrentQueue<(long Due, CancellationTokenSource Source)> _incoming = new();
        private readonly List<(long Due, CancellationTokenSource Source)> _pending = [];
        private readonly double _ticksPerMicrosecond;
        private readonly Thread _thread;
        private volatile bool _stop;

        public Canceller(double ticksPerMicrosecond)
        {
            _ticksPerMicrosecond = ticksPerMicrosecond;
            _thread = new Thread(Run) { IsBackground = true, Name = "test canceller" };
            _thread.Start();
        }

        public long Fired { get; private set; }

        public void Schedule(CancellationTokenSource source, int delayMicroseconds) =>
            _incoming.Enqueue((Stopwatch.GetTimestamp() + (long)(delayMicroseconds * _ticksPerMicrosecond), source));

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }

        private void Run()
        {
            var idle = 0;
            while (!_stop || !_incoming.IsEmpty || _pending.Count > 0)
            {
                while (_incoming.TryDequeue(out var entry))
                {
                    _pending.Add(entry);
                }

                var now = Stopwatch.GetTimestamp();
                var fired = false;
                for (var i = _pending.Count - 1; i >= 0; i--)
                {
                    if (_pending[i].Due <= now)
                    {
                        var source = _pending[i].Source;
                        _pending[i] = _pending[^1];
                        _pending.RemoveAt(_pending.Count - 1);
                        source.Cancel();
                        source.Dispose();
                        Fired++;
                        fired = true;
                    }
                }

                if (fired || _pending.Count > 0)
                {
                    idle = 0;
                    Thread.SpinWait(10);
                }
                else if (++idle < 100)
                {
                    Thread.SpinWait(20);
                }
                else
                {
                    Thread.Yield();
                }
            }
        }
    }

    internal readonly record struct Result(
        int SuccessfulPuts, int Lost, int Phantom, int Duplicated, long CancelledPuts, long CancelledGets, long CancelsFired, TimeSpan Elapsed)
    {
        public override string ToString() =>
            $"successful puts={SuccessfulPuts} lost={Lost} phantom={Phantom} duplicated={Duplicated} cancelled puts={CancelledPuts} " +
            $"cancelled gets={CancelledGets} timed cancels fired={CancelsFired} in {Elapsed.TotalSeconds:F1} s";
    }
}
