using System.Text.RegularExpressions;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Samples;

/// <summary>The course samples run in process on virtual time: exact output, line for line, and the virtual time they take.</summary>
[TestClass]
public sealed partial class CourseSampleTests
{
    private static readonly string[] Parallel =
    [
        "Task A: Compute factorial(2)...",
        "Task B: Compute factorial(2)...",
        "Task C: Compute factorial(2)...",
        "Task A: factorial(2) = 2",
        "Task B: Compute factorial(3)...",
        "Task C: Compute factorial(3)...",
        "Task B: factorial(3) = 6",
        "Task C: Compute factorial(4)...",
        "Task C: factorial(4) = 24",
    ];

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")]
    private static partial Regex PythonDateTime();

    [TestMethod]
    [Timeout(20_000)]
    public async Task Hello_PrintsHelloWorld_InNoTime()
    {
        var (lines, elapsed, exit) = await LoopSampleRunner.RunAsync("hello");
        Assert.AreEqual(0, exit);
        CollectionAssert.AreEqual(new[] { "Hello World!" }, lines);
        Assert.AreEqual(TimeSpan.Zero, elapsed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Date_PrintsFiveTimestampsOneSecondApart_InFourSeconds()
    {
        var (lines, elapsed, _) = await LoopSampleRunner.RunAsync("date");
        Assert.HasCount(5, lines);
        for (var i = 0; i < lines.Length; i++)
        {
            Assert.MatchesRegex(PythonDateTime(), lines[i]);
            Assert.AreEqual($"2026-01-01 00:00:0{i}.000000", lines[i]);
        }

        Assert.AreEqual(TimeSpan.FromSeconds(4), elapsed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Chain_PrintsComputeThenSum_InOneSecond()
    {
        var (lines, elapsed, _) = await LoopSampleRunner.RunAsync("chain");
        CollectionAssert.AreEqual(new[] { "Compute 1 + 2 ...", "1 + 2 = 3" }, lines);
        Assert.AreEqual(TimeSpan.FromSeconds(1), elapsed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Future_PrintsResult_InOneSecond()
    {
        var (lines, elapsed, _) = await LoopSampleRunner.RunAsync("future");
        CollectionAssert.AreEqual(new[] { "Future is done!" }, lines);
        Assert.AreEqual(TimeSpan.FromSeconds(1), elapsed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Parallel_InterleavesLikeAsyncioGather_InThreeSeconds()
    {
        var (lines, elapsed, _) = await LoopSampleRunner.RunAsync("parallel");
        CollectionAssert.AreEqual(Parallel, lines);
        Assert.AreEqual(TimeSpan.FromSeconds(3), elapsed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Nursery_PrintsTrioTutorialOrder_InOneSecond()
    {
        var (lines, elapsed, _) = await LoopSampleRunner.RunAsync("nursery");
        Assert.HasCount(9, lines);
        CollectionAssert.AreEqual(
            new[] { "parent: started!", "parent: spawning child1...", "parent: spawning child2...", "parent: waiting for children to finish..." },
            lines[..4]);
        CollectionAssert.AreEquivalent(new[] { "  child1: started! sleeping now...", "  child2: started! sleeping now..." }, lines[4..6]);
        CollectionAssert.AreEquivalent(new[] { "  child1: exiting!", "  child2: exiting!" }, lines[6..8]);
        Assert.AreEqual("parent: all done!", lines[8]);
        Assert.AreEqual(TimeSpan.FromSeconds(1), elapsed);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Rx_AllExamples_PrintWhatPythonPrints()
    {
        var (lines, elapsed, exit) = await LoopSampleRunner.RunAsync("rx");
        Assert.AreEqual(0, exit);
        string[] expected =
        [
            "--- hello ---", "Hello World!",
            "--- date ---", "2026-01-01 00:00:00.000000", "2026-01-01 00:00:01.000000", "2026-01-01 00:00:02.000000",
            "2026-01-01 00:00:03.000000", "2026-01-01 00:00:04.000000",
            "--- chain ---", "Compute 1 + 2 ...", "1 + 2 = 3",
            "--- future ---", "Future is done!",
            "--- parallel ---", .. Parallel,
        ];
        CollectionAssert.AreEqual(expected, lines, string.Join("\n", lines));
        Assert.AreEqual(TimeSpan.FromSeconds(4 + 1 + 1 + 3), elapsed);
    }

    [TestMethod]
    [DataRow("hello", 0)]
    [DataRow("date", 4)]
    [DataRow("chain", 1)]
    [DataRow("future", 1)]
    [DataRow("parallel", 3)]
    [Timeout(20_000)]
    public async Task Rx_OneExample_TakesThePythonTime(string example, int seconds)
    {
        var (lines, elapsed, _) = await LoopSampleRunner.RunAsync("rx", "--example", example);
        Assert.IsFalse(lines.Any(l => l.StartsWith("---", StringComparison.Ordinal)));
        Assert.AreEqual(TimeSpan.FromSeconds(seconds), elapsed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Loop_LowLevelApi_PrintsInDueOrder_AndStopsAfterThreeSeconds()
    {
        var (lines, elapsed, _) = await LoopSampleRunner.RunAsync("loop");
        string[] expected =
        [
            "run_forever: starting",
            "t=0s call_soon: first",
            "t=0s call_soon: second",
            "t=0s run_in_executor: sum of squares 1..1000 = 333833500, back on the loop thread: True",
            "t=1s call_later: 1 s",
            "t=2s call_later: 2 s",
            "t=3s stop",
            "run_forever: returned after 3 s",
        ];
        CollectionAssert.AreEqual(expected, lines, string.Join("\n", lines));
        Assert.AreEqual(TimeSpan.FromSeconds(3), elapsed);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Parallel_RepeatedOnVirtualTime_IsDeterministic()
    {
        for (var i = 0; i < 30; i++)
        {
            var (lines, elapsed, _) = await LoopSampleRunner.RunAsync("parallel");
            CollectionAssert.AreEqual(Parallel, lines, $"iteration {i}");
            Assert.AreEqual(TimeSpan.FromSeconds(3), elapsed, $"iteration {i}");
        }
    }
}
