using System.Text.RegularExpressions;

using FlowKit.Samples;
using FlowKit.Samples.Executors;

using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Executors;

/// <summary>The four course 24.1 patterns run in process on a fake clock, with small workloads; the CPU samples start the samples
/// program (copied beside the tests) as their worker processes.</summary>
[TestClass]
public sealed partial class ExecutorSamplesTests
{
    private static string SamplesWorker => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "FlowKit.Samples.exe" : "FlowKit.Samples");

    [TestMethod]
    [Timeout(60_000)]
    [DataRow("cpu-futures", "completed futures: 8")]
    [DataRow("cpu-queue", "consumed results: 8")]
    public async Task CpuSample_SmallLimit_CountsPrimesLikeTheSequentialLoop(string name, string countLine)
    {
        var lines = await RunAsync(name, "--limit", "20000", "--ranges", "8", "--workers", "2", "--worker", SamplesWorker);
        StringAssert.StartsWith(lines[0], name + ": primes below 20,000 in 8 ranges, 2 worker processes");
        Assert.AreEqual(2262, Count(lines, "sequential"), "pi(20000) = 2262");
        Assert.AreEqual(2262, Count(lines, "processes"));
        CollectionAssert.Contains(lines, countLine);
        StringAssert.StartsWith(lines[^1], "speed-up: ");
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow("io-futures", "results in order: 12")]
    [DataRow("io-queue", "consumed results: 12")]
    public async Task IoSample_BlockingReads_ReadEveryByteOnThreads(string name, string countLine)
    {
        var lines = await RunAsync(name, "--requests", "12", "--size", "10000", "--latency-ms", "0", "--threads", "4");
        StringAssert.StartsWith(lines[0], name + ": 12 blocking reads of 10,000 bytes");
        Assert.AreEqual(120_000, Count(lines, "sequential"));
        Assert.AreEqual(120_000, Count(lines, "threads"));
        CollectionAssert.Contains(lines, countLine);
        Assert.AreEqual("speed-up: n/a (no time elapsed on this clock)", lines[^1]);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void PrimeRange_Split_CoversTheLimitExactly()
    {
        var ranges = PrimeRange.Split(1001, 8);
        Assert.AreEqual(0, ranges[0].Start);
        Assert.AreEqual(1001, ranges[^1].End);
        for (var i = 1; i < ranges.Length; i++)
        {
            Assert.AreEqual(ranges[i - 1].End, ranges[i].Start);
        }

        Assert.AreEqual(168, ranges.Sum(Primes.CountInRange), "pi(1000) = 168");
    }

    private static async Task<string[]> RunAsync(string name, params string[] args)
    {
        var sample = SampleCatalog.Find(name);
        Assert.IsNotNull(sample, name);
        using var output = new StringWriter();
        var context = new SampleContext(output, args, new FakeTimeProvider());
        Assert.AreEqual(0, await sample.RunAsync(context), output.ToString());
        return output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
    }

    private static long Count(string[] lines, string label)
    {
        var line = lines.Single(l => l.StartsWith(label + ": ", StringComparison.Ordinal));
        var match = CountPattern().Match(line);
        Assert.IsTrue(match.Success, line);
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@": (\d+) (primes|bytes) in \d+ ms$")]
    private static partial Regex CountPattern();
}
