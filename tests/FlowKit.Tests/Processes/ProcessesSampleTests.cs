using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using FlowKit.Processes;
using FlowKit.Samples;
using FlowKit.Samples.Processes;
using FlowKit.Tests.TestUtilities;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Processes;

/// <summary>The Processes samples, run in process against a fake clock and a recording writer.</summary>
[TestClass]
[DoNotParallelize]
[UnsupportedOSPlatform("windows")]
public sealed class ProcessesSampleTests
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task SubprocessSample_SeqThroughSortReverse_PrintsProgressAndTheLargestFirst()
    {
        var output = new ProcessesLineWriter();
        var context = new SampleContext(output, [], new FakeTimeProvider());
        Assert.AreEqual(0, await new SubprocessSample().RunAsync(context));
        var lines = output.Lines;
        StringAssert.StartsWith(lines[0], "started seq (pid ");
        CollectionAssert.AreEqual(
            new[]
            {
                "sent 20000 lines to sort", "sent 40000 lines to sort", "sent 60000 lines to sort", "sent 80000 lines to sort", "sent 100000 lines to sort",
                "  sort says: 99999", "  sort says: 99998", "  sort says: 99997",
                "received 20000 lines from sort", "received 40000 lines from sort", "received 60000 lines from sort", "received 80000 lines from sort", "received 100000 lines from sort",
                "done: seq exited with 0, 100000 lines sent, 100000 received in 0 ms",
            },
            lines.Skip(1).ToList());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SubprocessSample_Cancelled_StopsBothChildren()
    {
        using var cts = new CancellationTokenSource();
        var output = new ProcessesLineWriter();
        var context = new SampleContext(output, ["--count", "100000000", "--every", "1000"], new FakeTimeProvider(), cts.Token);
        var run = new SubprocessSample().RunAsync(context);
        await output.WaitForLineAsync(l => l.StartsWith("sent 1000 ", StringComparison.Ordinal));
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => run);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SignalsSample_ReportsEachSelfSentSignal()
    {
        var output = new ProcessesLineWriter();
        var context = new SampleContext(output, ["--signals", "WINCH,CONT", "--count", "2"], new FakeTimeProvider());
        var run = new SignalsSample().RunAsync(context);
        await output.WaitForLineAsync(l => l.StartsWith("waiting for", StringComparison.Ordinal));
        Signals.Send(Environment.ProcessId, PosixSignal.SIGWINCH);
        await output.WaitForLineAsync(l => l.StartsWith("received SIGWINCH", StringComparison.Ordinal));
        Signals.Send(Environment.ProcessId, PosixSignal.SIGCONT);
        Assert.AreEqual(0, await run);
        CollectionAssert.AreEqual(
            new[] { $"waiting for SIGWINCH, SIGCONT (pid {Environment.ProcessId})", "received SIGWINCH (#1)", "received SIGCONT (#2)", "stopped after 2 signal(s)" },
            output.Lines.ToList());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SignalsSample_Cancelled_StopsCleanly()
    {
        using var cts = new CancellationTokenSource();
        var output = new ProcessesLineWriter();
        var context = new SampleContext(output, ["--signals", "WINCH"], new FakeTimeProvider(), cts.Token);
        var run = new SignalsSample().RunAsync(context);
        await output.WaitForLineAsync(l => l.StartsWith("waiting for", StringComparison.Ordinal));
        await cts.CancelAsync();
        Assert.AreEqual(0, await run);
        Assert.AreEqual("stopped after 0 signal(s)", output.Lines[^1]);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task SignalsSample_UnknownSignalName_ThrowsArgument()
    {
        var context = new SampleContext(new ProcessesLineWriter(), ["--signals", "KILLME"], new FakeTimeProvider());
        await Assert.ThrowsExactlyAsync<ArgumentException>(() => new SignalsSample().RunAsync(context));
    }
}
