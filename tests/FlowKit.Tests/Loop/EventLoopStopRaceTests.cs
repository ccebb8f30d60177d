using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Loop;

[TestClass]
public sealed class EventLoopStopRaceTests
{
    private static readonly int Races = Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1" ? 5_000 : 500;

    [TestMethod]
    [Timeout(120_000)]
    public async Task Stop_RacingTheStartOfRunForever_IsNeverLost()
    {
        for (var i = 0; i < Races; i++)
        {
            using var loop = new EventLoop();
            var go = new Barrier(2);
            var run = Task.Factory.StartNew(() =>
            {
                go.SignalAndWait();
                loop.RunForever();
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            go.SignalAndWait();
            loop.Stop();
            var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.AreSame(run, finished, $"Race {i}: Stop() was lost and RunForever kept running.");
            await run;
        }
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Stop_BeforeRunForever_RunsWhatIsQueuedThenStops()
    {
        using var loop = new EventLoop();
        var log = new List<string>();
        loop.CallSoon(() => log.Add("queued before"));
        loop.Stop();
        loop.RunForever();
        CollectionAssert.AreEqual(new[] { "queued before" }, log);

        // The pending stop was used up by that run: the next one runs until its own Stop.
        loop.CallSoon(() => log.Add("second run"));
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        CollectionAssert.AreEqual(new[] { "queued before", "second run" }, log);
    }
}
