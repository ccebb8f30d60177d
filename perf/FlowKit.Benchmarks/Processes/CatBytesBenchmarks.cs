using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using FlowKit.Processes;

namespace FlowKit.Benchmarks.Processes;

/// <summary>
/// Raw bytes through <c>cat</c>: the handle's <see cref="StandardInputWriter"/> and <see cref="Subprocess.StandardOutputChunksAsync"/>
/// against a raw <see cref="Process"/> with its base streams. Throughput (MiB/s) = <see cref="Megabytes"/> / mean.
/// </summary>
[MemoryDiagnoser]
public class CatBytesBenchmarks
{
    private readonly byte[] _block = new byte[64 * 1024];

    [Params(256)]
    public int Megabytes { get; set; }

    [Benchmark(Baseline = true)]
    public async Task<long> RawProcess_BaseStreams()
    {
        var info = new ProcessStartInfo("cat") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var input = process.StandardInput.BaseStream;
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < Megabytes * 16; i++)
            {
                await input.WriteAsync(_block);
            }

            input.Close();
        });
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await process.StandardOutput.BaseStream.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        await writer;
        await process.WaitForExitAsync();
        return total;
    }

    [Benchmark]
    public async Task<long> Subprocess_Chunks()
    {
        await using var p = Subprocess.Start("cat");
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < Megabytes * 16; i++)
            {
                await p.StandardInput.WriteAsync(_block);
            }

            await p.StandardInput.CloseAsync();
        });
        long total = 0;
        await foreach (var chunk in p.StandardOutputChunksAsync())
        {
            total += chunk.Length;
        }

        await writer;
        await p.WaitForExitAsync();
        return total;
    }
}
