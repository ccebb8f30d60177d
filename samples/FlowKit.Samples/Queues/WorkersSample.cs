using System.Globalization;

namespace FlowKit.Samples.Queues;

/// <summary>
/// The producer/worker program of Python's asyncio queue documentation: a queue of jobs (sleep durations), N workers that
/// <c>GetAsync</c>, sleep and <c>TaskDone</c>; the producer <c>JoinAsync</c>s, then cancels the workers; all inside a nursery,
/// on an event loop so virtual time can drive it in tests.
/// </summary>
public sealed class WorkersSample : ISample
{
    public string Name => "workers";

    public string Description => "asyncio Queue: N workers share a queue of jobs; join waits for all of them (--workers 3 --jobs 20 --seed 7)";

    public Task<int> RunAsync(SampleContext context)
    {
        var workers = context.IntOption("workers", 3);
        var jobs = context.IntOption("jobs", 20);
        var seed = context.IntOption("seed", 7);
        if (workers < 1 || jobs < 0)
        {
            context.WriteLine("--workers must be at least 1 and --jobs at least 0.");
            return Task.FromResult(2);
        }

        using var loop = context.CreateLoop();
        loop.RunUntilComplete(() => MainAsync(context, loop, workers, Durations(jobs, seed)));
        return Task.FromResult(0);
    }

    /// <summary>The jobs: sleep durations between 0.05 s and 1.00 s in steps of 10 ms (Python draws random.uniform(0.05, 1.0)).</summary>
    public static IReadOnlyList<TimeSpan> Durations(int jobs, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, jobs).Select(_ => TimeSpan.FromMilliseconds(random.Next(5, 101) * 10)).ToArray();
    }

    private static async Task MainAsync(SampleContext context, EventLoop loop, int workerCount, IReadOnlyList<TimeSpan> durations)
    {
        var queue = new AsyncQueue<TimeSpan>();
        var expected = TimeSpan.Zero;
        foreach (var duration in durations)
        {
            queue.PutNowait(duration);
            expected += duration;
        }

        var elapsed = TimeSpan.Zero;
        await Nursery.RunAsync(async nursery =>
        {
            for (var i = 0; i < workerCount; i++)
            {
                var name = $"worker-{i}";
                nursery.StartSoon(ct => WorkerAsync(context, loop, name, queue, ct));
            }

            var startedAt = context.Time.GetTimestamp();

            // Join is not passed the nursery's token: nothing here cancels the nursery before the join returns.
            await queue.JoinAsync();
            elapsed = context.Time.GetElapsedTime(startedAt);

            // The workers loop forever, like Python's: cancel them now that every job is done.
            nursery.Cancel();
        }, context.CancellationToken);

        context.WriteLine("====");
        context.WriteLine($"{workerCount} workers slept in parallel for {Seconds(elapsed)} seconds");
        context.WriteLine($"total expected sleep time: {Seconds(expected)} seconds");
        context.WriteLine($"speed-up: {(elapsed > TimeSpan.Zero ? expected / elapsed : 0).ToString("F2", CultureInfo.InvariantCulture)}x");
    }

    private static async Task WorkerAsync(SampleContext context, EventLoop loop, string name, AsyncQueue<TimeSpan> queue, CancellationToken cancellationToken)
    {
        var done = 0;
        while (true)
        {
            var sleepFor = await queue.GetAsync(cancellationToken);
            await loop.SleepAsync(sleepFor, cancellationToken);
            queue.TaskDone();
            done++;
            context.WriteLine($"{name} has slept for {Seconds(sleepFor)} seconds ({done} jobs done)");
        }
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture);
}
