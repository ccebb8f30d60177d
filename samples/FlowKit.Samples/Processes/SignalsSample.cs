using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Threading.Channels;
using FlowKit.Processes;

namespace FlowKit.Samples.Processes;

/// <summary>
/// asyncio's <c>loop.add_signal_handler</c> as an observable: waits for SIGINT, SIGTERM and SIGHUP (or the signals named with
/// <c>--signals</c>) and reports each, until <c>--count</c> signals have arrived or the sample is cancelled.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class SignalsSample : ISample
{
    public string Name => "signals";

    public string Description => "waits for SIGINT/SIGTERM/SIGHUP and reports each (--signals HUP,WINCH --count N)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var signals = context.Option("signals", "INT,TERM,HUP").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Parse).ToArray();
        var count = context.IntOption("count", 0);

        // Handlers run on the runtime's signal thread: hand each signal to the sample through a small bounded channel.
        var inbox = Channel.CreateBounded<PosixSignal>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest });
        using var subscription = Signals.Observe(signals).Subscribe(s => inbox.Writer.TryWrite(s));
        context.WriteLine($"waiting for {string.Join(", ", signals.Select(SignalName))} (pid {Environment.ProcessId})");
        var seen = 0;
        try
        {
            while (count == 0 || seen < count)
            {
                var signal = await inbox.Reader.ReadAsync(context.CancellationToken);
                seen++;
                context.WriteLine($"received {SignalName(signal)} (#{seen})");
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // A shutdown signal cancelled the sample: report what arrived before it and stop cleanly.
            while (inbox.Reader.TryRead(out var signal))
            {
                seen++;
                context.WriteLine($"received {SignalName(signal)} (#{seen})");
            }
        }

        context.WriteLine($"stopped after {seen} signal(s)");
        return 0;
    }

    private static string SignalName(PosixSignal signal) => signal.ToString();

    private static PosixSignal Parse(string name) => name.ToUpperInvariant().Replace("SIG", string.Empty, StringComparison.Ordinal) switch
    {
        "INT" => PosixSignal.SIGINT,
        "TERM" => PosixSignal.SIGTERM,
        "HUP" => PosixSignal.SIGHUP,
        "QUIT" => PosixSignal.SIGQUIT,
        "WINCH" => PosixSignal.SIGWINCH,
        "CONT" => PosixSignal.SIGCONT,
        _ => throw new ArgumentException($"--signals: unknown signal '{name}' (use INT, TERM, HUP, QUIT, WINCH or CONT)."),
    };
}
