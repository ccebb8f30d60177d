namespace FlowKit.Samples.Asyncio;

/// <summary>Course 24.4.1: a coroutine run to completion on the event loop.</summary>
public sealed class HelloSample : ISample
{
    public string Name => "hello";

    public string Description => "asyncio 24.4.1: Hello World coroutine on an EventLoop";

    public Task<int> RunAsync(SampleContext context)
    {
        using var loop = context.CreateLoop();

        // Blocking call which returns when the HelloWorld() coroutine is done.
        loop.RunUntilComplete(() => HelloWorld(context));
        return Task.FromResult(0);
    }

    private static Task HelloWorld(SampleContext context)
    {
        context.WriteLine("Hello World!");
        return Task.CompletedTask;
    }
}
