using FlowKit.Samples;
using FlowKit.Testing;

namespace FlowKit.Tests.TestUtilities;

/// <summary>Runs a sample in process on a <see cref="VirtualClock"/> (autojump), returning its output lines and the virtual time it took.</summary>
internal static class LoopSampleRunner
{
    public static async Task<(string[] Lines, TimeSpan Elapsed, int ExitCode)> RunAsync(string name, params string[] args)
    {
        var sample = SampleCatalog.Find(name) ?? throw new ArgumentException($"no sample named {name}", nameof(name));
        var clock = new VirtualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var output = new StringWriter();
        var writer = TextWriter.Synchronized(output);
        using var cts = new CancellationTokenSource();
        var context = new SampleContext(writer, args, clock, cts.Token);
        context.LoopCreated += clock.Attach;

        // Samples block in RunUntilComplete/RunForever, so they run on their own thread while the clock jumps.
        var run = Task.Run(() => sample.RunAsync(context));
        var elapsed = await clock.RunUntilCompleteAsync(run);
        var exitCode = await run;
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.None);
        return (lines[^1].Length == 0 ? lines[..^1] : lines, elapsed, exitCode);
    }
}
