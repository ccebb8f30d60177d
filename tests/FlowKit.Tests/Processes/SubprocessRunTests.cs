using System.Text;
using FlowKit.Processes;

namespace FlowKit.Tests.Processes;

[TestClass]
public sealed class SubprocessRunTests
{
    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_CapturesOutputAndExitCode()
    {
        var result = await Subprocess.RunAsync("sh", ["-c", "echo out; echo err >&2"]);
        Assert.AreEqual(0, result.ExitCode);
        Assert.AreEqual("out\n", result.StandardOutput);
        Assert.AreEqual("err\n", result.StandardError);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_NonZeroExit_ThrowsSubprocessExceptionWithCodeAndStderrTail()
    {
        var ex = await Assert.ThrowsExactlyAsync<SubprocessException>(() =>
            Subprocess.RunAsync("sh", ["-c", "seq 1 5000 >&2; echo 'fatal: broken' >&2; exit 3"], new SubprocessRunOptions { TailBytes = 100 }));
        Assert.AreEqual(3, ex.ExitCode);
        Assert.AreEqual("sh", ex.FileName);
        StringAssert.EndsWith(ex.StandardErrorTail, "fatal: broken\n");
        Assert.IsTrue(ex.StandardErrorTail.Length <= 100);
        StringAssert.Contains(ex.Message, "exited with code 3");
        StringAssert.Contains(ex.Message, "fatal: broken");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task RunAsync_NonZeroExit_StderrTailIsCompleteEveryTime()
    {
        // Regression: the exit used to be seen before the stderr drain had read the last bytes, leaving the tail empty.
        for (var i = 0; i < 100; i++)
        {
            var ex = await Assert.ThrowsExactlyAsync<SubprocessException>(() =>
                Subprocess.RunAsync("sh", ["-c", "echo 'last words' >&2; exit 2"]));
            Assert.AreEqual("last words\n", ex.StandardErrorTail, $"iteration {i}");
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_CheckOff_ReturnsNonZeroCode()
    {
        var result = await Subprocess.RunAsync("sh", ["-c", "exit 4"], new SubprocessRunOptions { CheckExitCode = false });
        Assert.AreEqual(4, result.ExitCode);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_Input_IsSentThenClosed()
    {
        var input = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(1, 20000)) + "\n");
        var result = await Subprocess.RunAsync("sort", ["-n", "-r"], new SubprocessRunOptions { Input = input });
        Assert.IsTrue(result.StandardOutput.StartsWith("20000\n19999\n", StringComparison.Ordinal));
        Assert.AreEqual(20000, result.StandardOutput.Count(c => c == '\n'));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_ChildIgnoresInput_BrokenPipeIsNotAnError()
    {
        var result = await Subprocess.RunAsync("true", null, new SubprocessRunOptions { Input = new byte[(4 << 20) + 1] });
        Assert.AreEqual(0, result.ExitCode);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_OutputOverCaptureLimit_ThrowsInvalidDataAndStopsChild()
    {
        // yes never ends on its own: returning at all shows the child was stopped (the leak sweep in SubprocessFloodTests counts processes).
        await Assert.ThrowsExactlyAsync<InvalidDataException>(() => Subprocess.RunAsync("yes", null, new SubprocessRunOptions { MaxCaptureBytes = 100_000 }));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_Cancelled_StopsChildAndThrowsWithCallerToken()
    {
        using var cts = new CancellationTokenSource();
        var run = Subprocess.RunAsync("sh", ["-c", "echo started; exec sleep 1000"], new SubprocessRunOptions { StandardOutput = SubprocessOutput.Drain }, cts.Token);
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<OperationCanceledException>(() => run);
        Assert.AreEqual(cts.Token, ex.CancellationToken);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_NonexistentProgram_ThrowsFileNotFound()
    {
        var ex = await Assert.ThrowsExactlyAsync<FileNotFoundException>(() => Subprocess.RunAsync("flowkit-missing-tool"));
        StringAssert.Contains(ex.Message, "flowkit-missing-tool");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_InvalidCaptureLimit_Throws()
    {
        await Assert.ThrowsExactlyAsync<ArgumentOutOfRangeException>(() => Subprocess.RunAsync("true", null, new SubprocessRunOptions { MaxCaptureBytes = 0 }));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RunAsync_ChildKilledBySignal_ExceptionSaysWhichSignal()
    {
        var ex = await Assert.ThrowsExactlyAsync<SubprocessException>(() => Subprocess.RunAsync("sh", ["-c", "kill -9 $$"]));
        Assert.AreEqual(128 + 9, ex.ExitCode);
        StringAssert.Contains(ex.Message, "killed by signal 9");
    }
}
