namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowDescribeTests
{
    [TestMethod]
    [Timeout(30_000)]
    public void Describe_ShowsStagesOptionsAndEdges()
    {
        var flow = Flow.From(Enumerable.Range(0, 10)).Named("numbers")
            .Select(x => x + 1).Named("inc")
            .Select((x, _) => new ValueTask<int>(x), new StageOptions { Parallelism = 4, Capacity = 32, Ordered = false }).Named("lookup")
            .Batch(10, TimeSpan.FromSeconds(1));

        var mermaid = flow.Describe();

        StringAssert.StartsWith(mermaid, "flowchart LR\n");
        StringAssert.Contains(mermaid, "s0[\"numbers: From(IEnumerable)\"]");
        StringAssert.Contains(mermaid, "s1[\"inc: Select<br/>sync, fused\"]");
        StringAssert.Contains(mermaid, "s2[\"lookup: Select<br/>async, parallelism 4, unordered\"]");
        StringAssert.Contains(mermaid, "s0 -- fused --> s1");
        StringAssert.Contains(mermaid, "s1 -- \"buffer 32\" --> s2");
        StringAssert.Contains(mermaid, "s2 -- \"buffer 10\" --> s3");
        StringAssert.Contains(mermaid, "s3 --> sink");
    }

    [TestMethod]
    [Timeout(30_000)]
    public void Describe_Merge_HasAnEdgeFromEveryInput()
    {
        var merged = Flow.Merge(Flow.From([1]).Named("a"), Flow.From([2]).Named("b"));

        var mermaid = merged.Describe();

        StringAssert.Contains(mermaid, "s0 -- \"buffer 128\" --> s2");
        StringAssert.Contains(mermaid, "s1 -- \"buffer 128\" --> s2");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task StageOptionsName_NamesTheStageInErrors()
    {
        var flow = Flow.From([1, 2]).Select((x, _) => x == 2 ? throw new FormatException() : new ValueTask<int>(x), new StageOptions { Name = "lookup" });

        Assert.AreEqual("lookup", flow.StageName);
        var ex = await Assert.ThrowsExactlyAsync<FlowStageException>(() => flow.ToListAsync());
        Assert.AreEqual("lookup", ex.StageName);
    }

    [TestMethod]
    [Timeout(30_000)]
    public void Describe_Via_EdgeSaysSendAsync()
    {
        var flow = Flow.From([1]).Via(() => new System.Threading.Tasks.Dataflow.BufferBlock<int>());

        StringAssert.Contains(flow.Describe(), "s0 -- SendAsync --> s1");
    }

    [TestMethod]
    [Timeout(30_000)]
    public void StageName_DefaultsToOperatorAndPosition()
    {
        var flow = Flow.From([1]).Select(x => x).Where(x => x > 0);

        Assert.AreEqual("Where#2", flow.StageName);
        Assert.AreEqual("flow", flow.FlowName);
    }
}
