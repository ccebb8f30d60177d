using System.Globalization;
using System.Text;
using FlowKit.Samples;
using FlowKit.Samples.Queues;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Queues;

/// <summary>
/// The <c>workers</c> sample run in process on a FakeTimeProvider: the driver advances virtual time 10 ms at a time, each time the
/// sample's event loop is idle. The expected output is computed by an independent simulation of N workers taking jobs in FIFO order.
/// </summary>
[TestClass]
public sealed class WorkersSampleTests
{
    [TestMethod]
    [Timeout(60_000)]
    [DataRow(3, 20, 7)]
    [DataRow(1, 5, 1)]
    [DataRow(4, 12, 42)]
    public async Task Workers_PrintEachJobInWakeOrderAndTheSpeedUp(int workers, int jobs, int seed)
    {
        var output = await RunAsync("--workers", workers.ToString(CultureInfo.InvariantCulture), "--jobs", jobs.ToString(CultureInfo.InvariantCulture), "--seed", seed.ToString(CultureInfo.InvariantCulture));
        var expected = Simulate(workers, WorkersSample.Durations(jobs, seed));
        Assert.AreEqual(expected, output);
        Console.WriteLine($"sample workers={workers} jobs={jobs}: {string.Join("; ", output.Split('\n')[^4..].Select(l => l.Trim()))}");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Workers_DefaultRun_ShowsParallelSpeedUp()
    {
        var output = await RunAsync();
        var lines = output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(20 + 4, lines.Length);
        Assert.AreEqual("====", lines[20]);
        var speedUp = double.Parse(lines[^1].Split(' ')[1].TrimEnd('x'), CultureInfo.InvariantCulture);
        Assert.IsGreaterThan(2.0, speedUp, "three workers should be more than twice as fast as one");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Workers_BadArguments_ExitWithCode2()
    {
        var sample = SampleCatalog.Find("workers");
        Assert.IsNotNull(sample);
        using var writer = new StringWriter();
        Assert.AreEqual(2, await sample.RunAsync(new SampleContext(writer, ["--workers", "0"], new FakeTimeProvider())));
    }

    private static async Task<string> RunAsync(params string[] args)
    {
        var time = new FakeTimeProvider();
        using var writer = new StringWriter();
        var context = new SampleContext(writer, args, time);
        var loopCreated = new TaskCompletionSource<EventLoop>(TaskCreationOptions.RunContinuationsAsynchronously);
        context.LoopCreated += loop => loopCreated.TrySetResult(loop);
        var run = Task.Run(() => SampleCatalog.Find("workers")!.RunAsync(context));
        var loop = await loopCreated.Task;
        for (var step = 0; step < 1_000_000 && !run.IsCompleted; step++)
        {
            await loop.WaitAllTasksBlockedAsync();
            if (!run.IsCompleted)
            {
                time.Advance(TimeSpan.FromMilliseconds(10));
            }
        }

        Assert.AreEqual(0, await run);
        return writer.ToString();
    }

    /// <summary>N workers, each taking the next job when free; workers that wake at the same instant go in the order they slept.</summary>
    private static string Simulate(int workers, IReadOnlyList<TimeSpan> durations)
    {
        var text = new StringBuilder();
        var wakeups = new PriorityQueue<(int Worker, TimeSpan Slept), (TimeSpan At, long Sequence)>();
        var done = new int[workers];
        long sequence = 0;
        var next = 0;
        for (var w = 0; w < workers && next < durations.Count; w++, next++)
        {
            wakeups.Enqueue((w, durations[next]), (durations[next], sequence++));
        }

        var now = TimeSpan.Zero;
        while (wakeups.TryDequeue(out var job, out var when))
        {
            now = when.At;
            done[job.Worker]++;
            text.AppendLine(CultureInfo.InvariantCulture, $"worker-{job.Worker} has slept for {job.Slept.TotalSeconds:F2} seconds ({done[job.Worker]} jobs done)");
            if (next < durations.Count)
            {
                wakeups.Enqueue((job.Worker, durations[next]), (now + durations[next], sequence++));
                next++;
            }
        }

        var total = durations.Aggregate(TimeSpan.Zero, (a, b) => a + b);
        text.AppendLine("====");
        text.AppendLine(CultureInfo.InvariantCulture, $"{workers} workers slept in parallel for {now.TotalSeconds:F2} seconds");
        text.AppendLine(CultureInfo.InvariantCulture, $"total expected sleep time: {total.TotalSeconds:F2} seconds");
        text.AppendLine(CultureInfo.InvariantCulture, $"speed-up: {(now > TimeSpan.Zero ? total / now : 0):F2}x");
        return text.ToString();
    }
}
