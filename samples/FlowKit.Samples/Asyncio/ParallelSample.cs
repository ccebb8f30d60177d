namespace FlowKit.Samples.Asyncio;

/// <summary>Course 24.4.5: three factorials in parallel with gather (<see cref="Task.WhenAll(Task[])"/>); about 3 s, not 6 s.</summary>
public sealed class ParallelSample : ISample
{
    public string Name => "parallel";

    public string Description => "asyncio 24.4.5: parallel execution of tasks (factorials A, B, C with gather)";

    public Task<int> RunAsync(SampleContext context)
    {
        using var loop = context.CreateLoop();

        // asyncio.gather(...) is Task.WhenAll over tasks created on the loop.
        loop.RunUntilComplete(() => Task.WhenAll(
            loop.CreateTask(() => Factorial(loop, context, "A", 2)),
            loop.CreateTask(() => Factorial(loop, context, "B", 3)),
            loop.CreateTask(() => Factorial(loop, context, "C", 4))));
        return Task.FromResult(0);
    }

    private static async Task Factorial(EventLoop loop, SampleContext context, string name, int number)
    {
        var f = 1;
        for (var i = 2; i <= number; i++)
        {
            context.WriteLine($"Task {name}: Compute factorial({i})...");
            await loop.SleepAsync(TimeSpan.FromSeconds(1));
            f *= i;
        }

        context.WriteLine($"Task {name}: factorial({number}) = {f}");
    }
}
