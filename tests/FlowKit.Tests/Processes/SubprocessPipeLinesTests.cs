using System.Runtime.CompilerServices;
using FlowKit.Processes;

namespace FlowKit.Tests.Processes;

[TestClass]
public sealed class SubprocessPipeLinesTests
{
    private static async IAsyncEnumerable<string> Numbers(int count, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (var i = 1; i <= count; i++)
        {
            ct.ThrowIfCancellationRequested();
            yield return i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (i % 1000 == 0)
            {
                await Task.Yield();
            }
        }
    }

    private static async Task<List<string>> Collect(IAsyncEnumerable<string> source)
    {
        var list = new List<string>();
        await foreach (var s in source)
        {
            list.Add(s);
        }

        return list;
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PipeLines_ThroughSortReverse_AllLinesComeBackSorted()
    {
        var lines = await Collect(Subprocess.PipeLinesAsync(Numbers(100_000), "sort", ["-n", "-r"]));
        Assert.AreEqual(100_000, lines.Count);
        Assert.AreEqual("100000", lines[0]);
        Assert.AreEqual("1", lines[^1]);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PipeLines_ThroughCat_StreamsWhileInputIsStillBeingWritten()
    {
        // cat echoes as it reads: far more than the pipes and buffers hold flows through, so both sides really run concurrently.
        var count = 0;
        await foreach (var line in Subprocess.PipeLinesAsync(Numbers(300_000), "cat", null, new SubprocessOptions { OutputBufferLimit = 4096 }))
        {
            count++;
        }

        Assert.AreEqual(300_000, count);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PipeLines_ChildStopsReadingEarly_LikeHead_EndsCleanly()
    {
        var lines = await Collect(Subprocess.PipeLinesAsync(Numbers(1_000_000), "head", ["-n", "3"]));
        CollectionAssert.AreEqual(new[] { "1", "2", "3" }, lines);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PipeLines_ChildFails_ThrowsSubprocessException()
    {
        var ex = await Assert.ThrowsExactlyAsync<SubprocessException>(() =>
            Collect(Subprocess.PipeLinesAsync(Numbers(10), "sh", ["-c", "cat >/dev/null; echo 'bad input' >&2; exit 2"])));
        Assert.AreEqual(2, ex.ExitCode);
        StringAssert.Contains(ex.StandardErrorTail, "bad input");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PipeLines_InputThrows_ErrorPropagatesAndChildIsStopped()
    {
        static async IAsyncEnumerable<string> Failing()
        {
            yield return "a";
            await Task.Yield();
            throw new InvalidOperationException("source broke");
        }

        var ex = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => Collect(Subprocess.PipeLinesAsync(Failing(), "sort")));
        Assert.AreEqual("source broke", ex.Message);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PipeLines_ConsumerBreaksEarly_ChildIsStopped()
    {
        var seen = 0;
        await foreach (var _ in Subprocess.PipeLinesAsync(Numbers(10_000_000), "cat"))
        {
            if (++seen == 10)
            {
                break;
            }
        }

        Assert.AreEqual(10, seen);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PipeLines_Cancelled_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in Subprocess.PipeLinesAsync(Numbers(10_000_000), "cat", null, null, cts.Token))
            {
                await cts.CancelAsync();
            }
        });
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task PipeLines_FromAnArray_SortsThroughTheChild()
    {
        var input = Enumerable.Range(1, 20_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var output = await Subprocess.PipeLinesAsync(input, "sort", ["-n", "-r"]).ToListAsync();
        CollectionAssert.AreEqual(input.Reverse().ToList(), output);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task PipeLines_FromAnArray_ChildFails_ThrowsWithTail()
    {
        var ex = await Assert.ThrowsExactlyAsync<SubprocessException>(async () =>
            await Subprocess.PipeLinesAsync(new[] { "a", "b" }, "sh", ["-c", "cat >/dev/null; echo nope >&2; exit 5"]).ToListAsync());
        Assert.AreEqual(5, ex.ExitCode);
        Assert.AreEqual("nope\n", ex.StandardErrorTail);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void PipeLines_NullInput_Throws()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => Subprocess.PipeLinesAsync((IAsyncEnumerable<string>)null!, "cat"));
        Assert.ThrowsExactly<ArgumentNullException>(() => Subprocess.PipeLinesAsync((IEnumerable<string>)null!, "cat"));
        Assert.ThrowsExactly<ArgumentException>(() => Subprocess.PipeLinesAsync(Array.Empty<string>(), string.Empty));
        Assert.ThrowsExactly<ArgumentException>(() => Subprocess.PipeLinesAsync(AsyncEnumerable.Empty<string>(), string.Empty));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task PipeLines_BreakAtRandomPoints_Repeated_EveryRunEndsWithTheChildStopped()
    {
        var random = new Random(8);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            var total = random.Next(1, 3000);
            var stopAt = random.Next(0, total + 2);
            var seen = 0;
            await foreach (var line in Subprocess.PipeLinesAsync(Numbers(total), "cat", null, new SubprocessOptions { OutputBufferLimit = random.Next(1, 8192) }))
            {
                seen++;
                Assert.AreEqual(seen.ToString(System.Globalization.CultureInfo.InvariantCulture), line);
                if (seen == stopAt)
                {
                    break;
                }
            }

            Assert.AreEqual(Math.Min(total, stopAt == 0 ? total : stopAt), seen, $"iteration {iteration}: total {total}, stop at {stopAt}");
        }
    }
}
