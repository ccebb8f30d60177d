using System.Globalization;
using System.Runtime.CompilerServices;
using FlowKit.Processes;

namespace FlowKit.Samples.Processes;

/// <summary>
/// A real command pipeline, <c>seq 1 N | sort -r</c>, with FlowKit in the middle: the lines of one child are streamed into
/// another (asyncio's <c>create_subprocess_exec</c> with pipes), with progress on both sides and bounded buffers throughout.
/// </summary>
public sealed class SubprocessSample : ISample
{
    public string Name => "subprocess";

    public string Description => "seq 1 100000 piped through FlowKit into sort -r, with progress (--count N, --every N)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var count = context.IntOption("count", 100_000);
        var every = context.IntOption("every", 20_000);
        var ct = context.CancellationToken;
        var sortOptions = new SubprocessOptions();
        sortOptions.Environment["LC_ALL"] = "C";

        var started = context.Time.GetTimestamp();
        await using var seq = Subprocess.Start("seq", ["1", count.ToString(CultureInfo.InvariantCulture)], null, ct);
        context.WriteLine($"started seq (pid {seq.Id}); piping its lines into sort -r");
        var sent = 0;
        var received = 0;
        await foreach (var line in Subprocess.PipeLinesAsync(Forward(), "sort", ["-r"], sortOptions, ct))
        {
            received++;
            if (received <= 3)
            {
                context.WriteLine($"  sort says: {line}");
            }

            if (received % every == 0)
            {
                context.WriteLine($"received {received} lines from sort");
            }
        }

        var seqExit = await seq.WaitForExitAsync(ct);
        var elapsed = context.Time.GetElapsedTime(started);
        context.WriteLine($"done: seq exited with {seqExit}, {sent} lines sent, {received} received in {elapsed.TotalMilliseconds:F0} ms");
        return sent == received ? 0 : 1;

        async IAsyncEnumerable<string> Forward([EnumeratorCancellation] CancellationToken token = default)
        {
            await foreach (var line in seq.StandardOutputLinesAsync(ct).WithCancellation(token))
            {
                sent++;
                if (sent % every == 0)
                {
                    context.WriteLine($"sent {sent} lines to sort");
                }

                yield return line;
            }
        }
    }
}
