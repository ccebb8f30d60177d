using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using FlowKit.Processes;

namespace FlowKit.Benchmarks.Processes;

/// <summary>
/// Lines through <c>cat</c> as a pipeline stage: <see cref="Subprocess.PipeLinesAsync"/> against a raw <see cref="Process"/> with
/// a writer task on <c>StandardInput</c> and <c>StandardOutput.ReadLineAsync</c>. Throughput (MiB/s) = <see cref="Megabytes"/> / mean.
/// </summary>
[MemoryDiagnoser]
public class CatLinesBenchmarks
{
    private string[] _lines = [];

    [Params(1_000_000)]
    public int Lines { get; set; }

    /// <summary>Bytes per run, for the MiB/s figure.</summary>
    public double Megabytes => _lines.Sum(l => l.Length + 1) / (1024.0 * 1024.0);

    [GlobalSetup]
    public void Setup()
    {
        _lines = Enumerable.Range(0, Lines).Select(i => $"line {i:D8} of the benchmark input, some payload here").ToArray();
        Console.WriteLine($"// {Megabytes:F2} MiB per run");
    }

    [Benchmark(Baseline = true)]
    public async Task<long> RawProcess_StreamReader()
    {
        var info = new ProcessStartInfo("cat") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var input = process.StandardInput;
        input.AutoFlush = false;
        var writer = Task.Run(async () =>
        {
            foreach (var line in _lines)
            {
                await input.WriteLineAsync(line);
            }

            input.Close();
        });
        long count = 0;
        while (await process.StandardOutput.ReadLineAsync() is not null)
        {
            count++;
        }

        await writer;
        await process.WaitForExitAsync();
        return count;
    }

    [Benchmark]
    public async Task<long> Subprocess_PipeLines_FromArray()
    {
        // The same input as the baseline: a plain array, fed without an async enumerator per line.
        long count = 0;
        await foreach (var _ in Subprocess.PipeLinesAsync(_lines, "cat"))
        {
            count++;
        }

        return count;
    }

    [Benchmark]
    public async Task<long> Subprocess_PipeLines()
    {
        long count = 0;
        await foreach (var _ in Subprocess.PipeLinesAsync(Source(), "cat"))
        {
            count++;
        }

        return count;
    }

    private async IAsyncEnumerable<string> Source()
    {
        foreach (var line in _lines)
        {
            yield return line;
        }

        await Task.CompletedTask;
    }
}
