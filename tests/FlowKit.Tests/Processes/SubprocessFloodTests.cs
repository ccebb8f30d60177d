using System.Diagnostics;
using FlowKit.Processes;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Processes;

/// <summary>Volume, backpressure, broken pipes and leaks (reliability family 27). Runs alone: it measures process-wide memory and descriptors.</summary>
[TestClass]
[DoNotParallelize]
public sealed class SubprocessFloodTests
{
    private static readonly bool Stress = Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(180_000)]
    public async Task LargeStdout_ReadAsChunks_StreamsWithoutBufferingItAll()
    {
        long size = Stress ? 2L << 30 : 200L << 20;
        var sw = Stopwatch.StartNew();
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long peakHeap = GC.GetTotalMemory(false);
        long total = 0;
        await using (var p = Subprocess.Start("sh", ["-c", $"yes | head -c {size}"]))
        {
            var chunks = 0;
            await foreach (var chunk in p.StandardOutputChunksAsync())
            {
                total += chunk.Length;
                if (++chunks % 256 == 0)
                {
                    peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
                }
            }

            Assert.AreEqual(0, await p.WaitForExitAsync());
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var mib = size / (1024.0 * 1024.0);
        Console.WriteLine($"F27 large-stdout: {mib:F0} MiB in {sw.ElapsedMilliseconds} ms ({mib / sw.Elapsed.TotalSeconds:F0} MiB/s), allocated {allocated / 1024} KiB, peak GC heap {peakHeap >> 20} MiB");
        Assert.AreEqual(size, total);
        // Allocation is counted process-wide (other work in the host adds to it), so the bound is loose: well under the payload.
        Assert.IsTrue(allocated < size / 2, $"allocated {allocated} bytes for {size} bytes of output");
        Assert.IsTrue(peakHeap < 256L << 20, $"peak heap {peakHeap}");
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task LargeStdout_ReadAsLines_HeapStaysBounded()
    {
        var count = Stress ? 20_000_000 : 2_000_000;
        var sw = Stopwatch.StartNew();
        long peakHeap = 0;
        long n = 0;
        await using var p = Subprocess.Start("seq", ["1", count.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await foreach (var line in p.StandardOutputLinesAsync())
        {
            if (++n % 100_000 == 0)
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
                Assert.AreEqual(n.ToString(System.Globalization.CultureInfo.InvariantCulture), line);
            }
        }

        Console.WriteLine($"F27 large-lines: {n} lines in {sw.ElapsedMilliseconds} ms, peak GC heap {peakHeap >> 20} MiB");
        Assert.AreEqual(count, n);
        Assert.IsTrue(peakHeap < 256L << 20, $"peak heap {peakHeap}");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task StdoutFlood_LimitTen_ReadingPausesAndResumes()
    {
        var sw = Stopwatch.StartNew();
        await using var p = Subprocess.Start("sh", ["-c", "yes flood | head -n 20000"], new SubprocessOptions { OutputBufferLimit = 10, ReadSize = 10 });

        // Read nothing until the child is blocked on a full pipe: the drain must have paused.
        await using var lines = p.StandardOutputLinesAsync().GetAsyncEnumerator();
        Assert.IsTrue(await lines.MoveNextAsync());
        var count = 1;
        while (await lines.MoveNextAsync())
        {
            Assert.AreEqual("flood", lines.Current);
            count++;
        }

        var stats = p.GetStatistics();
        Console.WriteLine($"F27 flood-limit-10: {count} lines, {stats.OutputReadPauses} pauses, {sw.ElapsedMilliseconds} ms");
        Assert.AreEqual(20000, count);
        Assert.IsTrue(stats.OutputReadPauses > 0, "reading never paused");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task UnreadStdout_ChildBlocks_MemoryStaysAtTheLimit()
    {
        await using var p = Subprocess.Start("yes", null, new SubprocessOptions { OutputBufferLimit = 64 * 1024, ReadSize = 16 * 1024 });
        await using var chunks = p.StandardOutputChunksAsync().GetAsyncEnumerator();
        Assert.IsTrue(await chunks.MoveNextAsync());

        // With nobody reading, the drain must pause (and then the OS pipe fills and yes blocks). Once paused it cannot resume.
        while (p.GetStatistics().OutputReadPauses == 0)
        {
            await Task.Yield();
        }

        var current = p.GetStatistics().StandardOutputBytes;
        for (var i = 0; i < 1000; i++)
        {
            await Task.Yield();
        }

        Assert.AreEqual(current, p.GetStatistics().StandardOutputBytes, "reading went on without a consumer");
        Console.WriteLine($"F27 unread-stdout: stopped at {current} bytes read, {p.GetStatistics().OutputReadPauses} pauses");
        Assert.IsTrue(current <= (64 * 1024) + (16 * 1024), $"read {current} bytes without a consumer");
        Assert.IsFalse(p.HasExited);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task WriteFourMiBPlusOne_ToExitedChild_BrokenPipeNotHang()
    {
        var sw = Stopwatch.StartNew();
        await using var p = Subprocess.Start("true");
        Assert.AreEqual(0, await p.WaitForExitAsync());
        var ex = await Assert.ThrowsExactlyAsync<SubprocessInputClosedException>(async () =>
        {
            await p.StandardInput.WriteAsync(new byte[(4 << 20) + 1]);
            await p.StandardInput.FlushAsync();
        });
        StringAssert.Contains(ex.Message, "'true'");
        StringAssert.Contains(ex.Message, "broken pipe");
        Console.WriteLine($"F27 write-4MiB+1-to-exited: {sw.ElapsedMilliseconds} ms");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task WriteWhileChildExitsEarly_BrokenPipeNotHang()
    {
        await using var p = Subprocess.Start("head", ["-c", "10"]);
        var ex = await Assert.ThrowsExactlyAsync<SubprocessInputClosedException>(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                await p.StandardInput.WriteAsync(new byte[64 * 1024]);
            }
        });
        StringAssert.Contains(ex.Message, "'head'");
    }

    // Counts every live child of the test process, so it must not overlap with other classes' tests that start children.
    [DoNotParallelize]
    [TestMethod]
    [Timeout(60_000)]
    public async Task StartAndDispose_ManyTimes_LeaksNoDescriptorAndNoZombie()
    {
        // Warm up: the runtime opens its SIGCHLD and epoll descriptors on first use.
        await using (var warm = Subprocess.Start("true"))
        {
            await warm.WaitForExitAsync();
        }

        var fdBefore = ProcessesProcFs.OpenDescriptors();
        var sw = Stopwatch.StartNew();
        const int iterations = 100;
        for (var i = 0; i < iterations; i++)
        {
            await using var p = Subprocess.Start("sh", ["-c", i % 2 == 0 ? "echo hi" : "sleep 1000"], new SubprocessOptions { StandardError = SubprocessOutput.Pipe });
            if (i % 2 == 0)
            {
                Assert.AreEqual("hi\n", await p.ReadStandardOutputToEndAsync());
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var fdLeak = ProcessesProcFs.OpenDescriptors() - fdBefore;
        var zombies = ProcessesProcFs.OurZombies();
        var live = ProcessesProcFs.OurLiveChildren();
        Console.WriteLine($"F27 leaks: {iterations} start/dispose in {sw.ElapsedMilliseconds} ms, fd leak {fdLeak}, zombies {zombies}, live children {live}");
        Assert.IsTrue(fdLeak <= 0, $"{fdLeak} descriptors leaked");
        Assert.AreEqual(0, zombies);
        Assert.AreEqual(0, live);
    }
}
