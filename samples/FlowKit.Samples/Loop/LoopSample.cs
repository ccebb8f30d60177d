namespace FlowKit.Samples.Loop;

/// <summary>
/// asyncio's low-level loop API (course 24.3.2, "callbacks"): <c>call_soon</c>, <c>run_in_executor</c>, <c>call_later</c>, and
/// <c>run_forever</c> stopped by a timer.
/// </summary>
public sealed class LoopSample : ISample
{
    public string Name => "loop";

    public string Description => "asyncio low-level API: CallSoon, CallLater, RunInExecutor, RunForever stopped by a timer";

    public Task<int> RunAsync(SampleContext context)
    {
        using var loop = context.CreateLoop();
        var start = loop.Time;
        string At() => $"t={(loop.Time - start).TotalSeconds:0}s";

        // call_soon: FIFO, in the next loop iteration.
        loop.CallSoon(() => context.WriteLine($"{At()} call_soon: first"));
        loop.CallSoon(() => context.WriteLine($"{At()} call_soon: second"));

        _ = loop.CreateTask(async () =>
        {
            // run_in_executor: blocking work on the thread pool; the await resumes on the loop's thread.
            var sum = await loop.RunInExecutor(() => SumOfSquares(1_000));
            context.WriteLine($"{At()} run_in_executor: sum of squares 1..1000 = {sum}, back on the loop thread: {loop.IsOnLoopThread}");

            // call_later: ordered by due time, not by the order of the calls.
            loop.CallLater(TimeSpan.FromSeconds(2), () => context.WriteLine($"{At()} call_later: 2 s"));
            loop.CallLater(TimeSpan.FromSeconds(1), () => context.WriteLine($"{At()} call_later: 1 s"));
            var cancelled = loop.CallLater(TimeSpan.FromSeconds(1.5), () => context.WriteLine("never printed: cancelled"));
            cancelled.Cancel();

            // stop: run_forever returns once the callbacks already queued have run.
            loop.CallLater(TimeSpan.FromSeconds(3), () =>
            {
                context.WriteLine($"{At()} stop");
                loop.Stop();
            });
        });

        context.WriteLine("run_forever: starting");
        loop.RunForever();
        context.WriteLine($"run_forever: returned after {(loop.Time - start).TotalSeconds:0} s");
        return Task.FromResult(0);
    }

    private static long SumOfSquares(int n)
    {
        long sum = 0;
        for (long i = 1; i <= n; i++)
        {
            sum += i * i;
        }

        return sum;
    }
}
