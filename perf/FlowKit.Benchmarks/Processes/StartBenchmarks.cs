using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using FlowKit.Processes;

namespace FlowKit.Benchmarks.Processes;

/// <summary>The fixed cost of starting and reaping a child (<c>true</c>): a raw <see cref="Process"/> against a <see cref="Subprocess"/> (PATH lookup, exec wrapper, drain tasks, structured stop).</summary>
[MemoryDiagnoser]
public class StartBenchmarks
{
    [Benchmark(Baseline = true)]
    public async Task<int> RawProcess_StartWait()
    {
        var info = new ProcessStartInfo("true") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    [Benchmark]
    public async Task<int> Subprocess_StartWaitDispose()
    {
        await using var p = Subprocess.Start("true");
        return await p.WaitForExitAsync();
    }

    [Benchmark]
    public async Task<int> Subprocess_NoWrapper_StartWaitDispose()
    {
        await using var p = Subprocess.Start("true", null, new SubprocessOptions { NewProcessGroup = false, RestoreSignals = false });
        return await p.WaitForExitAsync();
    }
}
