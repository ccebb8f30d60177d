using System.Diagnostics;
using FlowKit.Processes;
using FlowKit.Tests.Queues;
using FlowKit.Tests.TestUtilities;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Processes;

/// <summary>
/// Liveness of the subprocess line reader (a child that writes k lines and then waits for our reply must see all k lines yielded
/// while it waits), and the terminate-then-kill timer under a clock whose timers fire a hair early.
/// </summary>
[TestClass]
public sealed class SubprocessLivenessTests
{
    [TestMethod]
    [Timeout(300_000)]
    public async Task ChildWritesKLinesThenWaitsForStdin_AllKLinesArriveBeforeWeReply()
    {
        var iterations = QueueAssert.Size(200, 2_000);
        int[] ks = [1, 2, 3, 5, 1_000];
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        for (var run = 0; run < iterations; run++)
        {
            var k = ks[run % ks.Length];

            // The child prints k lines, then blocks in `read` until we answer; only then does it print its last line.
            var script = k <= 5
                ? string.Concat(Enumerable.Range(1, k).Select(i => $"echo l{i}; ")) + "read x; echo \"got $x\""
                : $"i=1; while [ $i -le {k} ]; do echo l$i; i=$((i+1)); done; read x; echo \"got $x\"";
            await using var p = Subprocess.Start("sh", ["-c", script], new SubprocessOptions { StandardInput = SubprocessInput.Pipe });
            await using var lines = p.StandardOutputLinesAsync().GetAsyncEnumerator();
            var started = Stopwatch.GetTimestamp();
            for (var i = 1; i <= k; i++)
            {
                // Generous bound for a loaded 2-core box: a stuck reader never gets there; the distribution is reported below.
                var next = lines.MoveNextAsync();
                bool more;
                try
                {
                    more = next.IsCompleted ? next.Result : await next.AsTask().WaitAsync(TimeSpan.FromSeconds(20));
                }
                catch (TimeoutException)
                {
                    Assert.Fail($"run {run}: line {i} of {k} was not yielded while the child waited for our reply");
                    throw;
                }

                Assert.IsTrue(more, $"run {run}: the output ended after {i - 1} of {k} lines");
                Assert.AreEqual($"l{i}", lines.Current);
            }

            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var bound = TimeSpan.FromSeconds(20);
            await p.StandardInput.WriteLineAsync("reply").AsTask().WaitAsync(bound);
            await p.StandardInput.FlushAsync().AsTask().WaitAsync(bound);
            Assert.IsTrue(await lines.MoveNextAsync().AsTask().WaitAsync(bound), $"run {run}: no line after the reply");
            Assert.AreEqual("got reply", lines.Current);
            Assert.IsFalse(await lines.MoveNextAsync().AsTask().WaitAsync(bound), $"run {run}: more after the last line");
            Assert.AreEqual(0, await p.WaitForExitAsync().WaitAsync(bound));
        }

        latencies.Sort();
        Console.WriteLine(
            $"subprocess line liveness: runs={iterations} k in [{string.Join(",", ks)}] stalls=0 ms from reader open to line k: " +
            $"p50={latencies[latencies.Count / 2]:F1} p99={latencies[(int)(latencies.Count * 0.99)]:F1} max={latencies[^1]:F1} " +
            $"(includes the child's start) in {clock.Elapsed.TotalSeconds:F1} s");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Stop_GraceTimerFiresAHairEarly_ChildIsNotKilledBeforeTheGracePeriod()
    {
        var grace = TimeSpan.FromSeconds(5);
        var time = new EarlyFirstTimerTimeProvider(early: TimeSpan.FromMilliseconds(1));
        await using var p = Subprocess.Start("sh", ["-c", "trap '' TERM; echo ready; exec sleep 1000"], new SubprocessOptions { GracePeriod = grace, TimeProvider = time });
        await using (var lines = p.StandardOutputLinesAsync().GetAsyncEnumerator())
        {
            Assert.IsTrue(await lines.MoveNextAsync());
            Assert.AreEqual("ready", lines.Current);
        }

        Assert.IsTrue(ProcessesProcFs.IgnoresSigterm(p.Id));
        var stop = p.StopAsync();
        await time.TimerCreated(1);

        // The first timer fires 1 ms before the grace period is over: the stop must see that it is early and wait the rest.
        time.Fake.Advance(grace - TimeSpan.FromMilliseconds(1));
        var first = await Task.WhenAny(stop, time.TimerCreated(2)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.AreNotSame(stop, first, "the child was killed when the timer fired, before the grace period had elapsed");
        Assert.IsTrue(ProcessesProcFs.IsAlive(p.Id));
        Assert.IsFalse(stop.IsCompleted);

        time.Fake.Advance(TimeSpan.FromMilliseconds(1));
        Assert.AreEqual(128 + 9, await stop.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>A fake clock whose first timer fires <c>early</c> before its due time (as a system timer may); later timers are exact.</summary>
    private sealed class EarlyFirstTimerTimeProvider(TimeSpan early) : TimeProvider
    {
        private readonly List<TaskCompletionSource> _created = [];
        private int _count;

        public FakeTimeProvider Fake { get; } = new();

        public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

        public override long GetTimestamp() => Fake.GetTimestamp();

        public override long TimestampFrequency => Fake.TimestampFrequency;

        /// <summary>Completes when the <paramref name="n"/>th timer has been created.</summary>
        public Task TimerCreated(int n)
        {
            lock (_created)
            {
                while (_created.Count < n)
                {
                    _created.Add(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                }

                return _created[n - 1].Task;
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var n = Interlocked.Increment(ref _count);
            var due = n == 1 && dueTime > early ? dueTime - early : dueTime;
            var timer = Fake.CreateTimer(callback, state, due, period);
            _ = TimerCreated(n);
            lock (_created)
            {
                _created[n - 1].TrySetResult();
            }

            return timer;
        }
    }
}
