namespace FlowKit.Samples.Asyncio;

/// <summary>Course 24.4.4: a future (a <see cref="TaskCompletionSource{TResult}"/>) set by a coroutine, awaited with run-until-complete.</summary>
public sealed class FutureSample : ISample
{
    public string Name => "future";

    public string Description => "asyncio 24.4.4: Future with run_until_complete (TaskCompletionSource)";

    public Task<int> RunAsync(SampleContext context)
    {
        using var loop = context.CreateLoop();

        // asyncio.Future() is a TaskCompletionSource; ensure_future(...) is loop.CreateTask(...).
        var future = new TaskCompletionSource<string>();
        _ = loop.CreateTask(() => SlowOperation(loop, future));
        var result = loop.RunUntilComplete(future.Task);
        context.WriteLine(result);
        return Task.FromResult(0);
    }

    private static async Task SlowOperation(EventLoop loop, TaskCompletionSource<string> future)
    {
        await loop.SleepAsync(TimeSpan.FromSeconds(1));
        future.SetResult("Future is done!");
    }
}
