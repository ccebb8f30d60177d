namespace FlowKit.Samples.Asyncio;

/// <summary>Course 24.4.3: one coroutine awaiting another.</summary>
public sealed class ChainSample : ISample
{
    public string Name => "chain";

    public string Description => "asyncio 24.4.3: chain coroutines (print_sum awaits compute)";

    public Task<int> RunAsync(SampleContext context)
    {
        using var loop = context.CreateLoop();
        loop.RunUntilComplete(() => PrintSum(loop, context, 1, 2));
        return Task.FromResult(0);
    }

    private static async Task<int> Compute(EventLoop loop, SampleContext context, int x, int y)
    {
        context.WriteLine($"Compute {x} + {y} ...");
        await loop.SleepAsync(TimeSpan.FromSeconds(1));
        return x + y;
    }

    private static async Task PrintSum(EventLoop loop, SampleContext context, int x, int y)
    {
        var result = await Compute(loop, context, x, y);
        context.WriteLine($"{x} + {y} = {result}");
    }
}
