namespace FlowKit.Samples.Trio;

/// <summary>Course 24.5: Trio's parent with two children in a nursery. <c>trio.run(parent)</c> becomes a loop running <c>Parent</c>;
/// <c>trio.sleep</c> is <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>.</summary>
public sealed class NurserySample : ISample
{
    public string Name => "nursery";

    public string Description => "Trio 24.5: parent spawns child1 and child2 in a nursery and waits for both";

    public Task<int> RunAsync(SampleContext context)
    {
        using var loop = context.CreateLoop();
        loop.RunUntilComplete(() => Parent(context));
        return Task.FromResult(0);
    }

    private static async Task Child1(SampleContext context, CancellationToken cancellationToken)
    {
        context.WriteLine("  child1: started! sleeping now...");
        await Task.Delay(TimeSpan.FromSeconds(1), context.Time, cancellationToken);
        context.WriteLine("  child1: exiting!");
    }

    private static async Task Child2(SampleContext context, CancellationToken cancellationToken)
    {
        context.WriteLine("  child2: started! sleeping now...");
        await Task.Delay(TimeSpan.FromSeconds(1), context.Time, cancellationToken);
        context.WriteLine("  child2: exiting!");
    }

    private static async Task Parent(SampleContext context)
    {
        context.WriteLine("parent: started!");
        await Nursery.RunAsync(nursery =>
        {
            context.WriteLine("parent: spawning child1...");
            nursery.StartSoon(ct => Child1(context, ct));

            context.WriteLine("parent: spawning child2...");
            nursery.StartSoon(ct => Child2(context, ct));

            context.WriteLine("parent: waiting for children to finish...");

            // -- we exit the nursery block here --
            return Task.CompletedTask;
        }, context.CancellationToken);
        context.WriteLine("parent: all done!");
    }
}
