using System.Text;
using FlowKit.Processes;

namespace FlowKit.Tests.Processes;

[TestClass]
public sealed class SubprocessStreamTests
{
    private static async Task<List<string>> ReadAllLinesAsync(Subprocess p, CancellationToken ct = default)
    {
        var lines = new List<string>();
        await foreach (var line in p.StandardOutputLinesAsync(ct))
        {
            lines.Add(line);
        }

        return lines;
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StandardOutputLines_Seq_YieldsEveryLineInOrder()
    {
        await using var p = Subprocess.Start("seq", ["1", "1000"]);
        var lines = await ReadAllLinesAsync(p);
        Assert.AreEqual(1000, lines.Count);
        CollectionAssert.AreEqual(Enumerable.Range(1, 1000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList(), lines);
        Assert.AreEqual(0, await p.WaitForExitAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StandardOutputLines_CrLfAndMissingLastNewline_AreNormalised()
    {
        await using var p = Subprocess.Start("printf", ["a\\r\\nb\\n\\nc"]);
        CollectionAssert.AreEqual(new[] { "a", "b", string.Empty, "c" }, await ReadAllLinesAsync(p));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StandardOutputLines_MultiByteCharactersSplitAcrossReads_DecodeIntact()
    {
        var options = new SubprocessOptions { ReadSize = 1, OutputBufferLimit = 1 };
        await using var p = Subprocess.Start("printf", ["h\u00e9llo \u20ac\\nz\u00fc\\n"], options);
        CollectionAssert.AreEqual(new[] { "h\u00e9llo \u20ac", "z\u00fc" }, await ReadAllLinesAsync(p));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Arguments_PassedVerbatim_NoShellExpansion()
    {
        await using var p = Subprocess.Start("printf", ["%s|", "a b", "$HOME", "*", "'q'"]);
        Assert.AreEqual("a b|$HOME|*|'q'|", await p.ReadStandardOutputToEndAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task UseShell_CommandLine_RunsThroughShWithPositionalArguments()
    {
        await using var p = Subprocess.Start("echo \"$1-$2\" | tr a-z A-Z", ["ab", "cd"], new SubprocessOptions { UseShell = true });
        Assert.AreEqual("AB-CD\n", await p.ReadStandardOutputToEndAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task WorkingDirectoryAndEnvironment_AreApplied()
    {
        var dir = Directory.CreateTempSubdirectory("flowkit-proc-");
        try
        {
            var options = new SubprocessOptions { WorkingDirectory = dir.FullName, UseShell = true };
            options.Environment["FLOWKIT_X"] = "42";
            options.Environment["HOME"] = null;
            await using var p = Subprocess.Start("pwd; echo \"$FLOWKIT_X\"; echo \"home=${HOME-unset}\"", null, options);
            CollectionAssert.AreEqual(new[] { dir.FullName, "42", "home=unset" }, await ReadAllLinesAsync(p));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StandardInput_WriteLinesThenClose_CatEchoesThem()
    {
        await using var p = Subprocess.Start("cat");
        var reader = ReadAllLinesAsync(p);
        for (var i = 0; i < 500; i++)
        {
            await p.StandardInput.WriteLineAsync("line " + i);
        }

        await p.StandardInput.WriteAsync("tail-no-newline");
        await p.StandardInput.CloseAsync();
        await p.StandardInput.CloseAsync();
        var lines = await reader;
        Assert.AreEqual(501, lines.Count);
        Assert.AreEqual("line 499", lines[499]);
        Assert.AreEqual("tail-no-newline", lines[500]);
        Assert.IsTrue(p.StandardInput.IsClosed);
        Assert.AreEqual(0, await p.WaitForExitAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StandardInput_FlushWithoutClose_ChildSeesDataInteractively()
    {
        await using var p = Subprocess.Start("cat");
        await using var lines = p.StandardOutputLinesAsync().GetAsyncEnumerator();
        for (var i = 0; i < 20; i++)
        {
            await p.StandardInput.WriteLineAsync("ping " + i);
            await p.StandardInput.FlushAsync();
            Assert.IsTrue(await lines.MoveNextAsync());
            Assert.AreEqual("ping " + i, lines.Current);
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StandardInput_AfterClose_ThrowsInvalidOperation()
    {
        await using var p = Subprocess.Start("cat");
        await p.StandardInput.CloseAsync();
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(async () => await p.StandardInput.WriteLineAsync("x"));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task StandardInputClosed_ChildReadsEndOfFileAtOnce()
    {
        await using var p = Subprocess.Start("cat", null, new SubprocessOptions { StandardInput = SubprocessInput.Closed });
        Assert.AreEqual(string.Empty, await p.ReadStandardOutputToEndAsync());
        Assert.AreEqual(0, await p.WaitForExitAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Chunks_ConcatenateToTheExactBytes()
    {
        await using var p = Subprocess.Start("head", ["-c", "300000", "/dev/zero"], new SubprocessOptions { ReadSize = 4096, OutputBufferLimit = 8192 });
        long total = 0;
        await foreach (var chunk in p.StandardOutputChunksAsync())
        {
            Assert.IsTrue(chunk.Span.IndexOfAnyExcept((byte)0) < 0);
            total += chunk.Length;
        }

        Assert.AreEqual(300000, total);
        Assert.AreEqual(300000, p.GetStatistics().StandardOutputBytes);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ChattyStandardError_NotRead_DoesNotBlockStandardOutputReader()
    {
        // ~1 MiB of stderr (far over a 64 KiB pipe) before any stdout: only the drain keeps this from deadlocking.
        await using var p = Subprocess.Start(
            "yes 'error line that nobody reads' | head -n 32000 >&2; echo done", null, new SubprocessOptions { UseShell = true, TailBytes = 64 });
        CollectionAssert.AreEqual(new[] { "done" }, await ReadAllLinesAsync(p));
        Assert.AreEqual(0, await p.WaitForExitAsync());
        await p.DisposeAsync();
        Assert.IsTrue(p.GetStatistics().StandardErrorBytes > 900_000, p.GetStatistics().ToString());
        Assert.IsTrue(p.StandardErrorTail.Length <= 64);
        StringAssert.EndsWith(p.StandardErrorTail, "error line that nobody reads\n");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task BothStreamsPiped_ReadConcurrently_NeitherDeadlocks()
    {
        var options = new SubprocessOptions { UseShell = true, StandardError = SubprocessOutput.Pipe, OutputBufferLimit = 4096 };
        await using var p = Subprocess.Start("i=0; while [ $i -lt 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done", null, options);
        var errors = Task.Run(async () =>
        {
            var n = 0;
            await foreach (var _ in p.StandardErrorLinesAsync())
            {
                n++;
            }

            return n;
        });
        var outputs = (await ReadAllLinesAsync(p)).Count;
        Assert.AreEqual(3000, outputs);
        Assert.AreEqual(3000, await errors);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task SecondConcurrentReader_ThrowsInvalidOperation_SequentialReadersContinue()
    {
        await using var p = Subprocess.Start("seq", ["1", "10"]);
        await using (var first = p.StandardOutputLinesAsync().GetAsyncEnumerator())
        {
            Assert.IsTrue(await first.MoveNextAsync());
            Assert.AreEqual("1", first.Current);
            await Assert.ThrowsExactlyAsync<InvalidOperationException>(async () =>
            {
                await foreach (var _ in p.StandardOutputLinesAsync())
                {
                }
            });
        }

        var rest = await ReadAllLinesAsync(p);
        Assert.AreEqual("2", rest[0]);
        Assert.AreEqual(9, rest.Count);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task LineLongerThanMax_ThrowsInvalidData()
    {
        await using var p = Subprocess.Start("head", ["-c", "5000", "/dev/zero"], new SubprocessOptions { MaxLineLength = 1000, ReadSize = 512, OutputBufferLimit = 512 });
        await Assert.ThrowsExactlyAsync<InvalidDataException>(() => ReadAllLinesAsync(p));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task LineLongerThanBufferLimit_ButUnderMax_IsReturnedWhole()
    {
        await using var p = Subprocess.Start("sh", ["-c", "head -c 100000 /dev/zero | tr '\\0' x; echo; echo end"], new SubprocessOptions { OutputBufferLimit = 1024, ReadSize = 1024 });
        var lines = await ReadAllLinesAsync(p);
        Assert.AreEqual(100000, lines[0].Length);
        Assert.AreEqual("end", lines[1]);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task NotPipedStream_Read_ThrowsInvalidOperationNamingTheOption()
    {
        await using var p = Subprocess.Start("true", null, new SubprocessOptions { StandardOutput = SubprocessOutput.Drain });
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => p.StandardOutputLinesAsync().GetAsyncEnumerator());
        StringAssert.Contains(ex.Message, "SubprocessOutput.Pipe");
        Assert.ThrowsExactly<InvalidOperationException>(() => p.StandardErrorChunksAsync());
        Assert.AreEqual(0, await p.WaitForExitAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ExitCode_NonZero_IsReported()
    {
        await using var p = Subprocess.Start("sh", ["-c", "exit 7"]);
        Assert.AreEqual(7, await p.WaitForExitAsync());
        Assert.AreEqual(7, p.ExitCode);
        Assert.IsTrue(p.HasExited);
    }

    [TestMethod]
    [Timeout(20_000)]
    public void Start_NonexistentProgram_ThrowsFileNotFoundNamingIt()
    {
        var ex = Assert.ThrowsExactly<FileNotFoundException>(() => Subprocess.Start("flowkit-no-such-program-xyz"));
        StringAssert.Contains(ex.Message, "flowkit-no-such-program-xyz");
        Assert.AreEqual("flowkit-no-such-program-xyz", ex.FileName);
        var abs = Assert.ThrowsExactly<FileNotFoundException>(() => Subprocess.Start("/nonexistent/dir/prog"));
        StringAssert.Contains(abs.Message, "/nonexistent/dir/prog");
    }

    [TestMethod]
    [Timeout(20_000)]
    public void Start_FileNotExecutable_ThrowsUnauthorizedAccessNamingIt()
    {
        var file = Path.GetTempFileName();
        try
        {
            var ex = Assert.ThrowsExactly<UnauthorizedAccessException>(() => Subprocess.Start(file));
            StringAssert.Contains(ex.Message, file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public void Start_MissingWorkingDirectory_ThrowsDirectoryNotFound()
    {
        var ex = Assert.ThrowsExactly<DirectoryNotFoundException>(() => Subprocess.Start("true", null, new SubprocessOptions { WorkingDirectory = "/nonexistent-flowkit" }));
        StringAssert.Contains(ex.Message, "/nonexistent-flowkit");
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Start_NullOrEmptyFileName_Throws()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => Subprocess.Start(null!));
        Assert.ThrowsExactly<ArgumentException>(() => Subprocess.Start(string.Empty));
        var ex = Assert.ThrowsExactly<ArgumentException>(() => Subprocess.Start("echo", ["a", null!]));
        Assert.AreEqual("args", ex.ParamName);
    }

    [TestMethod]
    [Timeout(10_000)]
    [DataRow("OutputBufferLimit", 0)]
    [DataRow("ReadSize", 0)]
    [DataRow("ReadSize", 17 << 20)]
    [DataRow("InputBufferSize", 0)]
    [DataRow("TailBytes", -1)]
    [DataRow("MaxLineLength", 0)]
    [DataRow("GracePeriodSeconds", -1)]
    public void Start_OutOfRangeOption_ThrowsNamingIt(string option, int value)
    {
        var options = new SubprocessOptions();
        switch (option)
        {
            case "OutputBufferLimit": options.OutputBufferLimit = value; break;
            case "ReadSize": options.ReadSize = value; break;
            case "InputBufferSize": options.InputBufferSize = value; break;
            case "TailBytes": options.TailBytes = value; break;
            case "MaxLineLength": options.MaxLineLength = value; break;
            default: options.GracePeriod = TimeSpan.FromSeconds(value); break;
        }

        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Subprocess.Start("true", null, options));
        StringAssert.Contains(ex.ParamName, option.Replace("Seconds", string.Empty, StringComparison.Ordinal));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task OptionsMutatedAfterStart_HaveNoEffect()
    {
        var options = new SubprocessOptions { UseShell = true };
        options.Environment["FLOWKIT_Y"] = "before";
        await using var p = Subprocess.Start("read x; echo \"$FLOWKIT_Y\"", null, options);
        options.Environment["FLOWKIT_Y"] = "after";
        options.StandardOutput = SubprocessOutput.Drain;
        await p.StandardInput.CloseAsync();
        Assert.AreEqual("before\n", await p.ReadStandardOutputToEndAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Encoding_Latin1_RoundTrips()
    {
        var options = new SubprocessOptions { Encoding = Encoding.Latin1 };
        await using var p = Subprocess.Start("cat", null, options);
        await p.StandardInput.WriteLineAsync("caf\u00e9");
        await p.StandardInput.CloseAsync();
        Assert.AreEqual("caf\u00e9\n", await p.ReadStandardOutputToEndAsync());
    }

    [TestMethod]
    [Timeout(20_000)]
    [DataRow(true, "0")]
    [DataRow(false, "1")]
    public async Task RestoreSignals_ControlsWhetherChildInheritsIgnoredSigpipe(bool restore, string expectedBit)
    {
        // SIGPIPE is signal 13: bit 12 of SigIgn. The .NET runtime ignores it; a restored child must not.
        await using var p = Subprocess.Start("sh", ["-c", "grep SigIgn /proc/self/status"], new SubprocessOptions { RestoreSignals = restore });
        var line = (await p.ReadStandardOutputToEndAsync()).Trim();
        var mask = ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        Assert.AreEqual(expectedBit, ((mask >> 12) & 1).ToString(System.Globalization.CultureInfo.InvariantCulture), line);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task InheritedStreams_CannotBeRead_ExitCodeStillAwaitable()
    {
        await using var p = Subprocess.Start("true", null, new SubprocessOptions { StandardOutput = SubprocessOutput.Inherit, StandardError = SubprocessOutput.Inherit, StandardInput = SubprocessInput.Inherit });
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => p.StandardOutputLinesAsync());
        StringAssert.Contains(ex.Message, "inherited");
        Assert.IsTrue(p.StandardInput.IsClosed);
        Assert.AreEqual(string.Empty, p.StandardErrorTail);
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(async () => await p.StandardInput.WriteLineAsync("x"));
        Assert.AreEqual(0, await p.WaitForExitAsync());
    }
}
