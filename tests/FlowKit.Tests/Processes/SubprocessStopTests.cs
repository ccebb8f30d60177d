using System.Diagnostics;
using System.Runtime.InteropServices;
using FlowKit.Processes;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Processes;

/// <summary>Structured lifetime: dispose, cancellation, signals, grace period, process groups, no zombie and no orphan.</summary>
[TestClass]
public sealed class SubprocessStopTests
{
    public TestContext TestContext { get; set; } = null!;

    private static async Task<string> FirstLineAsync(Subprocess p)
    {
        await using var e = p.StandardOutputLinesAsync().GetAsyncEnumerator();
        Assert.IsTrue(await e.MoveNextAsync(), "the child printed nothing");
        return e.Current;
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Dispose_RunningChild_StopsAndReapsIt()
    {
        for (var i = 0; i < 20; i++)
        {
            var p = Subprocess.Start("sleep", ["1000"]);
            var pid = p.Id;
            Assert.IsTrue(ProcessesProcFs.IsAlive(pid));
            await p.DisposeAsync();
            Assert.IsNull(ProcessesProcFs.Stat(pid), $"pid {pid} still in /proc (zombie or alive)");
            Assert.AreEqual(128 + 15, p.ExitCode);
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Start_ChildLeadsItsOwnProcessGroup()
    {
        await using var p = Subprocess.Start("sh", ["-c", "echo ready; exec sleep 1000"]);
        Assert.AreEqual("ready", await FirstLineAsync(p));
        var stat = ProcessesProcFs.Stat(p.Id);
        Assert.IsNotNull(stat);
        Assert.AreEqual(p.Id, stat.Value.GroupId);
        Assert.AreEqual(Environment.ProcessId, stat.Value.ParentId);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Dispose_ChildWithGrandchild_LeavesNoOrphan()
    {
        var p = Subprocess.Start("sh", ["-c", "sleep 1000 & echo $!; wait"]);
        var grandchild = int.Parse(await FirstLineAsync(p), System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsTrue(ProcessesProcFs.IsAlive(grandchild));
        await p.DisposeAsync();
        Assert.IsTrue(await ProcessesProcFs.WaitUntilDeadAsync(grandchild, TimeSpan.FromSeconds(5)), $"grandchild {grandchild} survived");
        Assert.IsNull(ProcessesProcFs.Stat(p.Id));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Dispose_LeaderExitedButGrandchildIgnoresTerm_GrandchildKilled()
    {
        var p = Subprocess.Start("sh", ["-c", "(trap '' TERM; exec sleep 1000) & echo $!"]);
        var grandchild = int.Parse(await FirstLineAsync(p), System.Globalization.CultureInfo.InvariantCulture);
        Assert.AreEqual(0, await p.WaitForExitAsync());
        Assert.IsTrue(ProcessesProcFs.IsAlive(grandchild), "the grandchild should outlive its parent until the handle is disposed");
        await p.DisposeAsync();
        Assert.IsTrue(await ProcessesProcFs.WaitUntilDeadAsync(grandchild, TimeSpan.FromSeconds(5)), $"grandchild {grandchild} is an orphan");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Stop_ChildIgnoresSigterm_SigkillAfterGraceOnFakeTime()
    {
        var time = new ProcessesTimeProvider();
        await using var p = Subprocess.Start("sh", ["-c", "trap '' TERM; echo ready; exec sleep 1000"], new SubprocessOptions { GracePeriod = TimeSpan.FromSeconds(5), TimeProvider = time });
        Assert.AreEqual("ready", await FirstLineAsync(p));
        Assert.IsTrue(ProcessesProcFs.IgnoresSigterm(p.Id));
        var stop = p.StopAsync();
        await time.TimerCreated;
        Assert.IsFalse(stop.IsCompleted, "stopped before the grace period elapsed");
        Assert.IsTrue(ProcessesProcFs.IsAlive(p.Id));
        Assert.IsTrue(p.GetStatistics().StopRequested);
        time.Fake.Advance(TimeSpan.FromSeconds(5));
        Assert.AreEqual(128 + 9, await stop);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Stop_ChildHandlesSigterm_ExitsWithItsOwnCodeBeforeGrace()
    {
        var time = new ProcessesTimeProvider();
        await using var p = Subprocess.Start("sh", ["-c", "trap 'echo bye; exit 3' TERM; echo ready; while :; do sleep 0.05; done"], new SubprocessOptions { TimeProvider = time });
        await using var lines = p.StandardOutputLinesAsync().GetAsyncEnumerator();
        Assert.IsTrue(await lines.MoveNextAsync());
        Assert.AreEqual(3, await p.StopAsync());
        Assert.IsTrue(await lines.MoveNextAsync());
        Assert.AreEqual("bye", lines.Current);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Cancel_LifetimeToken_StopsChild()
    {
        using var cts = new CancellationTokenSource();
        await using var p = Subprocess.Start("sleep", ["1000"], null, cts.Token);
        await cts.CancelAsync();
        Assert.AreEqual(128 + 15, await p.WaitForExitAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public void Start_AlreadyCancelledToken_ThrowsWithoutStarting()
    {
        var ex = Assert.ThrowsExactly<OperationCanceledException>(() => Subprocess.Start("sleep", ["1000"], null, new CancellationToken(true)));
        Assert.IsTrue(ex.CancellationToken.IsCancellationRequested);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task CancelTheWait_ThenKill_ChildDiesWithSignal9()
    {
        var sw = Stopwatch.StartNew();
        await using var p = Subprocess.Start("sleep", ["1000"]);
        using var cts = new CancellationTokenSource();
        var wait = p.WaitForExitAsync(cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => wait);
        Assert.IsTrue(ProcessesProcFs.IsAlive(p.Id), "cancelling the wait must not stop the child");
        p.Kill();
        Assert.AreEqual(128 + 9, await p.WaitForExitAsync());
        Console.WriteLine($"F27 cancel-wait-then-kill: {sw.ElapsedMilliseconds} ms");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Kill_ExitCodeIsSignal9_Terminate_ExitCodeIsSigterm()
    {
        var sw = Stopwatch.StartNew();
        await using (var p = Subprocess.Start("sleep", ["1000"]))
        {
            p.Kill();
            Assert.AreEqual(128 + 9, await p.WaitForExitAsync());
        }

        Console.WriteLine($"F27 kill: {sw.ElapsedMilliseconds} ms");
        sw.Restart();
        await using (var p = Subprocess.Start("sleep", ["1000"]))
        {
            p.Terminate();
            Assert.AreEqual(128 + 15, await p.WaitForExitAsync());
        }

        Console.WriteLine($"F27 terminate: {sw.ElapsedMilliseconds} ms");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task SendSignal_SighupOnlyAfterReadyLine_ChildReportsIt()
    {
        var sw = Stopwatch.StartNew();
        // env resets SIGHUP to its default first: a shell cannot trap a signal that was ignored when it started (as under nohup).
        await using var p = Subprocess.Start("env", ["--default-signal=HUP", "sh", "-c", "trap 'echo got-hup; exit 0' HUP; echo ready; while :; do sleep 0.05; done"]);
        await using var lines = p.StandardOutputLinesAsync().GetAsyncEnumerator();
        Assert.IsTrue(await lines.MoveNextAsync());
        Assert.AreEqual("ready", lines.Current);
        Assert.IsTrue(p.SendSignal(PosixSignal.SIGHUP));
        Assert.IsTrue(await lines.MoveNextAsync());
        Assert.AreEqual("got-hup", lines.Current);
        Assert.AreEqual(0, await p.WaitForExitAsync());
        Assert.IsFalse(p.SendSignal(PosixSignal.SIGHUP), "signalling an exited child reports false");
        Console.WriteLine($"F27 sighup-after-ready: {sw.ElapsedMilliseconds} ms");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StopAsync_CancelledWait_StopGoesOn()
    {
        var time = new ProcessesTimeProvider();
        await using var p = Subprocess.Start("sh", ["-c", "trap '' TERM; echo ready; exec sleep 1000"], new SubprocessOptions { TimeProvider = time });
        Assert.AreEqual("ready", await FirstLineAsync(p));
        using var cts = new CancellationTokenSource();
        var stop = p.StopAsync(cts.Token);
        await time.TimerCreated;
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => stop);
        time.Fake.Advance(TimeSpan.FromSeconds(5));
        Assert.AreEqual(128 + 9, await p.WaitForExitAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task GraceZero_SendsSigkillAtOnce()
    {
        await using var p = Subprocess.Start("sh", ["-c", "trap '' TERM; echo ready; exec sleep 1000"], new SubprocessOptions { GracePeriod = TimeSpan.Zero });
        Assert.AreEqual("ready", await FirstLineAsync(p));
        Assert.AreEqual(128 + 9, await p.StopAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task WithoutProcessGroup_DisposeKillsTheTree()
    {
        var p = Subprocess.Start("sh", ["-c", "trap '' TERM; sleep 1000 & echo $!; wait"], new SubprocessOptions { NewProcessGroup = false, GracePeriod = TimeSpan.Zero });
        var grandchild = int.Parse(await FirstLineAsync(p), System.Globalization.CultureInfo.InvariantCulture);
        Assert.AreNotEqual(p.Id, ProcessesProcFs.Stat(p.Id)!.Value.GroupId);
        await p.DisposeAsync();
        Assert.IsTrue(await ProcessesProcFs.WaitUntilDeadAsync(grandchild, TimeSpan.FromSeconds(5)), $"grandchild {grandchild} survived");
        Assert.IsNull(ProcessesProcFs.Stat(p.Id));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Cancel_ReadingOutput_StopsEnumerationButNotChild()
    {
        await using var p = Subprocess.Start("sh", ["-c", "echo one; exec sleep 1000"]);
        using var cts = new CancellationTokenSource();
        var seen = new List<string>();
        await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var line in p.StandardOutputLinesAsync(cts.Token))
            {
                seen.Add(line);
                await cts.CancelAsync();
            }
        });
        CollectionAssert.AreEqual(new[] { "one" }, seen);
        Assert.IsFalse(p.HasExited);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Cancel_BlockedStdinWrite_ThrowsOperationCanceled()
    {
        await using var p = Subprocess.Start("sleep", ["1000"]);
        using var cts = new CancellationTokenSource();
        var big = new byte[4 << 20];
        var write = p.StandardInput.WriteAsync(big, cts.Token).AsTask();
        Assert.IsFalse(write.IsCompleted, "4 MiB cannot fit in a pipe nobody reads");
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => write);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Dispose_WhileReaderWaits_ReaderEndsWithObjectDisposed()
    {
        var p = Subprocess.Start("sleep", ["1000"]);
        var reader = Task.Run(async () =>
        {
            await foreach (var _ in p.StandardOutputLinesAsync())
            {
            }
        });
        await p.DisposeAsync();
        // The child is gone, so its stdout hit end of file (normal end) - or the drain was cut by disposal: both are fine, a hang is not.
        try
        {
            await reader;
        }
        catch (ObjectDisposedException)
        {
        }

        Assert.IsNull(ProcessesProcFs.Stat(p.Id));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task DisposeImmediatelyAfterStart_RacesTheGroupSetup_NeverLeavesTheChild()
    {
        // Dispose can land before the exec wrapper has made the process group: the stop must still reach the child.
        for (var i = 0; i < 200; i++)
        {
            var p = Subprocess.Start("sleep", ["1000"]);
            await p.DisposeAsync();
            Assert.IsNull(ProcessesProcFs.Stat(p.Id), $"iteration {i}: pid {p.Id} left behind");
        }
    }
}
