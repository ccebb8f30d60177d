using System.Diagnostics;
using System.Reactive.Disposables;

namespace FlowKit.Tests.Structured;

/// <summary>
/// Every timer FlowKit's structured and loop APIs arm, on the real clock: hundreds of short deadlines (10-100 ms), run concurrently in
/// batches. Each must fire no earlier than its instant (strict, on Stopwatch timestamps) and no later than a generous bound; the lateness
/// distribution is printed. The same again with two threads keeping the CPU busy.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class RealClockTimerTests
{
    // Generous: the CI box has 2 cores shared with other work. A missed deadline shows as a hang (the bodies wait forever), not as lateness.
    private static readonly TimeSpan LateBound = TimeSpan.FromMilliseconds(750);
    private static readonly int Count = Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1" ? 2_000 : 200;
    private const int Batch = 50;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public Task MoveOnAfterAsync_NeverFiresEarly(bool load) => MeasureAsync(nameof(CancelScope.MoveOnAfterAsync), load, async delay =>
    {
        long fired = 0;
        var completed = await CancelScope.MoveOnAfterAsync(delay, ct => WaitForCancelAsync(ct, t => fired = t));
        Assert.IsFalse(completed, "The body waits forever: only the deadline ends it.");
        return fired;
    });

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public Task MoveOnAtAsync_NeverFiresEarly(bool load) => MeasureAsync(nameof(CancelScope.MoveOnAtAsync), load, async delay =>
    {
        long fired = 0;
        var completed = await CancelScope.MoveOnAtAsync(TimeProvider.System.GetUtcNow() + delay, ct => WaitForCancelAsync(ct, t => fired = t));
        Assert.IsFalse(completed);
        return fired;
    });

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public Task FailAfterAsync_NeverFiresEarly(bool load) => MeasureAsync(nameof(CancelScope.FailAfterAsync), load, async delay =>
    {
        long fired = 0;
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => CancelScope.FailAfterAsync(delay, ct => WaitForCancelAsync(ct, t => fired = t)));
        return fired;
    });

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public Task FailAtAsync_NeverFiresEarly(bool load) => MeasureAsync(nameof(CancelScope.FailAtAsync), load, async delay =>
    {
        long fired = 0;
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => CancelScope.FailAtAsync(TimeProvider.System.GetUtcNow() + delay, async ct =>
        {
            await WaitForCancelAsync(ct, t => fired = t);
            return 0;
        }));
        return fired;
    });

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public Task ScopeCancelAfter_NeverFiresEarly(bool load) => MeasureAsync("CancelScope.CancelAfter", load, async delay =>
    {
        long fired = 0;
        using var scope = new CancelScope();
        scope.CancelAfter(delay);
        await scope.RunAsync(ct => WaitForCancelAsync(ct, t => fired = t));
        Assert.IsTrue(scope.CancelledCaught && scope.DeadlineReached);
        return fired;
    });

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public Task ScopeDeadlineSetter_NeverFiresEarly(bool load) => MeasureAsync("CancelScope.Deadline", load, async delay =>
    {
        long fired = 0;
        using var scope = new CancelScope { Deadline = TimeProvider.System.GetUtcNow() + delay };
        await scope.RunAsync(ct => WaitForCancelAsync(ct, t => fired = t));
        Assert.IsTrue(scope.CancelledCaught && scope.DeadlineReached);
        return fired;
    });

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public async Task EventLoopCallLater_NeverFiresEarly(bool load)
    {
        using var loop = StartLoop(out var running);
        await MeasureAsync("EventLoop.CallLater", load, delay =>
        {
            var fired = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            loop.CallLater(delay, () => fired.SetResult(Stopwatch.GetTimestamp()));
            return fired.Task;
        });
        loop.Stop();
        await running;
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public async Task EventLoopCallAt_NeverFiresEarly(bool load)
    {
        using var loop = StartLoop(out var running);
        await MeasureAsync("EventLoop.CallAt", load, delay =>
        {
            var fired = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            loop.CallAt(loop.Time + delay, () => fired.SetResult(Stopwatch.GetTimestamp()));
            return fired.Task;
        });
        loop.Stop();
        await running;
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public async Task EventLoopSleepAsync_NeverWakesEarly(bool load)
    {
        using var loop = StartLoop(out var running);
        await MeasureAsync("EventLoop.SleepAsync", load, async delay =>
        {
            await loop.SleepAsync(delay);
            return Stopwatch.GetTimestamp();
        });
        loop.Stop();
        await running;
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public async Task EventLoopScheduler_NeverRunsEarly(bool load)
    {
        using var loop = StartLoop(out var running);
        await MeasureAsync("EventLoop.Scheduler.Schedule(TimeSpan)", load, delay =>
        {
            var fired = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            loop.Scheduler.Schedule(0, delay, (_, _) =>
            {
                fired.SetResult(Stopwatch.GetTimestamp());
                return Disposable.Empty;
            });
            return fired.Task;
        });
        loop.Stop();
        await running;
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public Task TimeProviderSchedulerRelative_NeverRunsEarly(bool load)
    {
        var scheduler = new TimeProviderScheduler();
        return MeasureAsync("TimeProviderScheduler.Schedule(TimeSpan)", load, delay =>
        {
            var fired = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            scheduler.Schedule(0, delay, (_, _) =>
            {
                fired.SetResult(Stopwatch.GetTimestamp());
                return Disposable.Empty;
            });
            return fired.Task;
        });
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public Task TimeProviderSchedulerAbsolute_NeverRunsEarly(bool load)
    {
        var scheduler = new TimeProviderScheduler();
        return MeasureAsync("TimeProviderScheduler.Schedule(DateTimeOffset)", load, delay =>
        {
            var fired = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            scheduler.Schedule(0, scheduler.Now + delay, (_, _) =>
            {
                fired.SetResult(Stopwatch.GetTimestamp());
                return Disposable.Empty;
            });
            return fired.Task;
        });
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(false)]
    [DataRow(true)]
    public async Task TimeProviderSchedulerPeriodic_NoTickBeforeItsInstant_NoDrift(bool load)
    {
        using var busy = load ? new CpuLoad(2) : null;
        var scheduler = new TimeProviderScheduler();
        var period = TimeSpan.FromMilliseconds(15);
        const int ticks = 40;
        var early = new List<string>();
        var lateness = new List<double>();
        var runs = Enumerable.Range(0, 10).Select(async _ =>
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stamps = new long[ticks];
            var n = 0;
            await Task.Yield();
            var start = Stopwatch.GetTimestamp();
            using (scheduler.SchedulePeriodic(0, period, state =>
            {
                if (n < ticks)
                {
                    stamps[n++] = Stopwatch.GetTimestamp();
                    if (n == ticks)
                    {
                        done.SetResult();
                    }
                }

                return state;
            }))
            {
                await done.Task;
            }

            lock (early)
            {
                for (var i = 0; i < ticks; i++)
                {
                    var due = period * (i + 1);
                    var at = Stopwatch.GetElapsedTime(start, stamps[i]);
                    if (at < due)
                    {
                        early.Add($"tick {i + 1} at {at.TotalMilliseconds:F3} ms, due {due.TotalMilliseconds} ms");
                    }

                    lateness.Add((at - due).TotalMilliseconds);
                }
            }
        }).ToList();
        await Task.WhenAll(runs);
        lateness.Sort();
        var line = $"real clock TimeProviderScheduler.SchedulePeriodic{(load ? " under 2 busy threads" : "")}: 10 x {ticks} ticks, early = {early.Count}, " +
            $"lateness vs start + n x period ms p50 = {lateness[lateness.Count / 2]:F2}, max = {lateness[^1]:F2}";
        TestContext.WriteLine(line);
        Assert.IsEmpty(early, line + ": " + string.Join("; ", early.Take(10)));
        Assert.IsLessThan(LateBound.TotalMilliseconds, lateness[^1], line);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FailAfterAsync_AroundAFlowThatNeverEnds_Fires()
    {
        for (var run = 0; run < 20; run++)
        {
            var watch = Stopwatch.StartNew();
            await Assert.ThrowsExactlyAsync<TimeoutException>(() => CancelScope.FailAfterAsync(TimeSpan.FromMilliseconds(100),
                ct => Flow.From(Endless(ct)).ForEachAsync((_, _) => ValueTask.CompletedTask, ct)));
            Assert.IsGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(100), watch.Elapsed);
            Assert.IsLessThan(LateBound + TimeSpan.FromMilliseconds(100), watch.Elapsed);
        }

        static async IAsyncEnumerable<int> Endless([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
        {
            for (var i = 0; ; i++)
            {
                await Task.Delay(5, ct);
                yield return i;
            }
        }
    }

    private static async Task WaitForCancelAsync(CancellationToken ct, Action<long> onCancelled)
    {
        using var registration = ct.Register(() => onCancelled(Stopwatch.GetTimestamp()));
        await Task.Delay(Timeout.Infinite, ct);
    }

    private static EventLoop StartLoop(out Task running)
    {
        var loop = new EventLoop();
        running = Task.Factory.StartNew(loop.RunForever, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        SpinWait.SpinUntil(() => loop.IsRunning);
        return loop;
    }

    // Arms Count timers (10-100 ms), Batch at a time concurrently. `arm` returns the Stopwatch timestamp at which the timer fired.
    private async Task MeasureAsync(string name, bool load, Func<TimeSpan, Task<long>> arm)
    {
        using var busy = load ? new CpuLoad(2) : null;
        var random = new Random(12345);
        var lateness = new List<double>(Count);
        var early = new List<string>();
        for (var done = 0; done < Count; done += Batch)
        {
            var runs = new List<Task<(TimeSpan Delay, TimeSpan Elapsed)>>(Batch);
            for (var i = 0; i < Batch && done + i < Count; i++)
            {
                var delay = TimeSpan.FromMilliseconds(random.Next(10, 101)) + TimeSpan.FromTicks(random.Next(0, 10_000));
                runs.Add(RunOneAsync(delay));
            }

            foreach (var (delay, elapsed) in await Task.WhenAll(runs))
            {
                if (elapsed < delay)
                {
                    early.Add($"{delay.TotalMilliseconds:F4} ms fired after {elapsed.TotalMilliseconds:F4} ms");
                }

                lateness.Add((elapsed - delay).TotalMilliseconds);
            }
        }

        lateness.Sort();
        var p50 = lateness[lateness.Count / 2];
        var p99 = lateness[(int)Math.Min(lateness.Count - 1, Math.Ceiling(lateness.Count * 0.99) - 1)];
        var max = lateness[^1];
        var line = $"real clock {name}{(load ? " under 2 busy threads" : "")}: {lateness.Count} timers, early = {early.Count}, " +
            $"lateness ms p50 = {p50:F2}, p99 = {p99:F2}, max = {max:F2} (min {lateness[0]:F3})";
        TestContext.WriteLine(line);
        Assert.IsEmpty(early, "Fired before the deadline: " + string.Join("; ", early.Take(10)));
        Assert.IsLessThan(LateBound.TotalMilliseconds, max, line);

        async Task<(TimeSpan, TimeSpan)> RunOneAsync(TimeSpan delay)
        {
            await Task.Yield();
            var start = Stopwatch.GetTimestamp();
            var fired = await arm(delay);
            return (delay, Stopwatch.GetElapsedTime(start, fired));
        }
    }

    private sealed class CpuLoad : IDisposable
    {
        private readonly Thread[] _threads;
        private volatile bool _stop;

        public CpuLoad(int threads)
        {
            _threads = new Thread[threads];
            for (var i = 0; i < threads; i++)
            {
                _threads[i] = new Thread(() =>
                {
                    var x = 0UL;
                    while (!_stop)
                    {
                        x = (x * 6364136223846793005UL) + 1442695040888963407UL;
                    }

                    GC.KeepAlive(x);
                }) { IsBackground = true, Name = "RealClockTimerTests.CpuLoad" };
                _threads[i].Start();
            }
        }

        public void Dispose()
        {
            _stop = true;
            foreach (var thread in _threads)
            {
                thread.Join();
            }
        }
    }
}
