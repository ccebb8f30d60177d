using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using FlowKit.Processes;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Processes;

/// <summary>
/// Reliability family 19: SIGINT delivered to a child-process harness (the samples program's <c>interrupt</c> sample, run with
/// <c>dotnet</c>) at five points. The root must exit with the interrupt (130), clean up its children, and never lose it.
/// </summary>
[TestClass]
[DoNotParallelize]
[UnsupportedOSPlatform("windows")]
public sealed class InterruptDeliveryTests
{
    private sealed record Harness(Subprocess Process, IAsyncEnumerator<string> Lines) : IAsyncDisposable
    {
        public async Task<string> NextAsync()
        {
            Assert.IsTrue(await Lines.MoveNextAsync(), "the harness ended its output early; stderr: " + Process.StandardErrorTail);
            return Lines.Current;
        }

        public async Task<List<string>> RestAsync()
        {
            var rest = new List<string>();
            while (await Lines.MoveNextAsync())
            {
                rest.Add(Lines.Current);
            }

            return rest;
        }

        public async ValueTask DisposeAsync()
        {
            await Lines.DisposeAsync();
            await Process.DisposeAsync();
        }
    }

    private static Harness StartHarness(string point)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "FlowKit.Samples.dll");
        Assert.IsTrue(File.Exists(dll), dll);

        // A test host started in the background inherits SIGINT as ignored, and so would the harness: give it the default back.
        var p = Subprocess.Start("env", ["--default-signal=INT", "dotnet", dll, "interrupt", "--point", point], new SubprocessOptions { TailBytes = 8192 });
        return new Harness(p, p.StandardOutputLinesAsync().GetAsyncEnumerator());
    }

    private static void Report(string point, int exitCode, Stopwatch sinceSignal) =>
        Console.WriteLine($"F19 {point}: exit {exitCode}, cleanup {sinceSignal.ElapsedMilliseconds} ms");

    [TestMethod]
    [Timeout(60_000)]
    public async Task Sigint_BeforeTheLoopStarts_LoopStartsCancelledAndRootExits130()
    {
        await using var h = StartHarness("before-loop");
        Assert.AreEqual("ready", await h.NextAsync());
        var sw = Stopwatch.StartNew();
        Assert.IsTrue(h.Process.SendSignal(PosixSignal.SIGINT));
        Assert.AreEqual("interrupt noted", await h.NextAsync());
        await h.Process.StandardInput.WriteLineAsync("go");
        await h.Process.StandardInput.FlushAsync();
        var code = await h.Process.WaitForExitAsync();
        Report("before-loop", code, sw);
        Assert.AreEqual(130, code, h.Process.StandardErrorTail);
        StringAssert.Contains(h.Process.StandardErrorTail, "Cancelled.");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Sigint_MidTask_ChildProcessesStoppedAndRootExits130()
    {
        await using var h = StartHarness("mid-task");
        var ready = (await h.NextAsync()).Split(' ');
        Assert.AreEqual("ready", ready[0]);
        var pids = ready.Skip(1).Select(int.Parse).ToArray();
        Assert.IsTrue(pids.All(ProcessesProcFs.IsAlive));
        var sw = Stopwatch.StartNew();
        h.Process.SendSignal(PosixSignal.SIGINT);
        var code = await h.Process.WaitForExitAsync();
        Report("mid-task", code, sw);
        Assert.AreEqual(130, code, h.Process.StandardErrorTail);
        foreach (var pid in pids)
        {
            Assert.IsTrue(await ProcessesProcFs.WaitUntilDeadAsync(pid, TimeSpan.FromSeconds(5)), $"child {pid} of the harness survived");
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Sigint_InsideACancelledScope_IsNotAbsorbedByTheScope()
    {
        await using var h = StartHarness("cancelled-scope");
        Assert.AreEqual("ready", await h.NextAsync());
        var sw = Stopwatch.StartNew();
        h.Process.SendSignal(PosixSignal.SIGINT);
        var rest = await h.RestAsync();
        var code = await h.Process.WaitForExitAsync();
        Report("cancelled-scope", code, sw);
        Assert.AreEqual(130, code, h.Process.StandardErrorTail);
        CollectionAssert.DoesNotContain(rest, "scope absorbed the interrupt");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Sigint_WhileShielded_DeliveredWhenTheShieldEnds()
    {
        await using var h = StartHarness("shielded");
        Assert.AreEqual("ready", await h.NextAsync());
        var sw = Stopwatch.StartNew();
        h.Process.SendSignal(PosixSignal.SIGINT);
        Assert.AreEqual("interrupt noted", await h.NextAsync());
        await h.Process.StandardInput.WriteLineAsync("go");
        await h.Process.StandardInput.FlushAsync();
        Assert.AreEqual("shield done", await h.NextAsync());
        var rest = await h.RestAsync();
        var code = await h.Process.WaitForExitAsync();
        Report("shielded", code, sw);
        Assert.AreEqual(130, code, h.Process.StandardErrorTail);
        CollectionAssert.DoesNotContain(rest, "interrupt lost");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SecondSigint_DuringShutdown_EndsTheProcessAtOnce()
    {
        await using var h = StartHarness("shutdown");
        Assert.AreEqual("ready", await h.NextAsync());
        var sw = Stopwatch.StartNew();
        h.Process.SendSignal(PosixSignal.SIGINT);
        var next = await h.NextAsync();
        if (next == "interrupt noted")
        {
            next = await h.NextAsync();
        }

        Assert.AreEqual("cleaning up", next);
        h.Process.SendSignal(PosixSignal.SIGINT);
        var rest = await h.RestAsync();
        var code = await h.Process.WaitForExitAsync();
        Report("shutdown (second SIGINT)", code, sw);
        Assert.AreEqual(128 + 2, code, "the second SIGINT must end the process with its default action; stderr: " + h.Process.StandardErrorTail);
        CollectionAssert.DoesNotContain(rest, "cleanup finished");
        Assert.IsFalse(h.Process.StandardErrorTail.Contains("Cancelled.", StringComparison.Ordinal));
    }
}
