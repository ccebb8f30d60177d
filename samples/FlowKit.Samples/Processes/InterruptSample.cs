using FlowKit.Processes;

namespace FlowKit.Samples.Processes;

/// <summary>
/// The child-process harness for reliability family 19 (Ctrl-C delivery): run it with <c>--point</c> and send it SIGINT after
/// its "ready" line. Points: <c>before-loop</c>, <c>mid-task</c>, <c>cancelled-scope</c>, <c>shielded</c>, <c>shutdown</c>.
/// Where a point waits for the test, it reads one line from standard input ("go").
/// </summary>
public sealed class InterruptSample : ISample
{
    public string Name => "interrupt";

    public string Description => "harness for Ctrl-C delivery tests: --point before-loop|mid-task|cancelled-scope|shielded|shutdown";

    public async Task<int> RunAsync(SampleContext context)
    {
        var point = context.Option("point", "mid-task");
        var ct = context.CancellationToken;

        // Lets the test know the interrupt has been turned into cancellation, without the waiting steps observing the token.
        using var noted = ct.Register(() => context.WriteLine("interrupt noted"));
        switch (point)
        {
            case "before-loop":
                // The interrupt arrives before any structured work exists; the loop must still start cancelled, not lose it.
                context.WriteLine("ready");
                await WaitForGoAsync();
                using (var loop = context.CreateLoop())
                {
                    loop.RunUntilComplete(() => SleepForeverAsync(context, ct));
                }

                break;

            case "mid-task":
                await Nursery.RunAsync(
                    async nursery =>
                    {
                        var children = new[] { Subprocess.Start("sleep", ["1000"], null, ct), Subprocess.Start("sleep", ["1000"], null, ct) };
                        foreach (var child in children)
                        {
                            nursery.StartSoon(async token =>
                            {
                                await using (child)
                                {
                                    await child.WaitForExitAsync(token);
                                }
                            });
                        }

                        context.WriteLine($"ready {children[0].Id} {children[1].Id}");
                        await Task.Delay(Timeout.InfiniteTimeSpan, context.Time, nursery.CancellationToken);
                    },
                    ct);
                break;

            case "cancelled-scope":
                await CancelScope.MoveOnAfterAsync(
                    TimeSpan.FromMilliseconds(1),
                    async scopeToken =>
                    {
                        try
                        {
                            await Task.Delay(Timeout.InfiniteTimeSpan, context.Time, scopeToken);
                        }
                        catch (OperationCanceledException) when (scopeToken.IsCancellationRequested)
                        {
                            // The scope's own deadline cancelled us; the interrupt comes during its cleanup and must not be absorbed.
                            context.WriteLine("ready");
                            await Task.Delay(Timeout.InfiniteTimeSpan, context.Time, ct);
                        }
                    },
                    ct,
                    context.Time);
                context.WriteLine("scope absorbed the interrupt");
                return 3;

            case "shielded":
                context.WriteLine("ready");
                await WaitForGoAsync();   // shielded: this step does not observe the token
                context.WriteLine("shield done");
                ct.ThrowIfCancellationRequested();
                context.WriteLine("interrupt lost");
                return 3;

            case "shutdown":
                try
                {
                    context.WriteLine("ready");
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.Time, ct);
                }
                finally
                {
                    // A slow cleanup: a second interrupt here must end the process at once.
                    context.WriteLine("cleaning up");
                    await WaitForGoAsync();
                    context.WriteLine("cleanup finished");
                }

                break;

            default:
                throw new ArgumentException($"--point must be before-loop, mid-task, cancelled-scope, shielded or shutdown, not '{point}'.");
        }

        return 0;
    }

    private static async Task WaitForGoAsync() => await Console.In.ReadLineAsync(CancellationToken.None);

    private static async Task SleepForeverAsync(SampleContext context, CancellationToken ct) =>
        await Task.Delay(Timeout.InfiniteTimeSpan, context.Time, ct);
}
