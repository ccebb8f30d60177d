namespace FlowKit.Tests.Structured;

[TestClass]
public sealed class SmokeTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task Nursery_EmptyBody_Returns()
    {
        var ran = false;
        await Nursery.RunAsync(_ =>
        {
            ran = true;
            return Task.CompletedTask;
        });
        Assert.IsTrue(ran);
    }
}
