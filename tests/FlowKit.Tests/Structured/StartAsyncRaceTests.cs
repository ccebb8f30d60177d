namespace FlowKit.Tests.Structured;

/// <summary>The caller's token of <see cref="Nursery.StartAsync{T}"/> racing the child's <c>Started</c>: exactly one of them wins.
/// Either the start returns the value and the child is never cancelled by that token afterwards, or the start is cancelled; the
/// nursery itself never fails either way.</summary>
[TestClass]
public sealed class StartAsyncRaceTests
{
    private static readonly int Races = Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1" ? 20_000 : 5_000;

    [TestMethod]
    [Timeout(120_000)]
    public async Task CallerTokenRacingStarted_NeverFailsTheNursery_AndOneSideWins()
    {
        var started = 0;
        var cancelled = 0;
        var cancelledAfterStart = 0;
        var nurseryFailed = 0;
        Exception? firstFailure = null;
        for (var i = 0; i < Races; i++)
        {
            // Spread the two sides over a few microseconds so the race lands on every interleaving, not only one.
            var spinCancel = i % 50;
            var spinStart = (i / 50) % 50;
            using var caller = new CancellationTokenSource();
            var go = new Barrier(2);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var startReturned = false;
            var tokenCancelledAfterStart = false;
            var canceller = Task.Run(() =>
            {
                go.SignalAndWait();
                Thread.SpinWait(spinCancel);
                caller.Cancel();
            });
            var run = Nursery.RunAsync(async n =>
            {
                var start = n.StartAsync<int>(async (status, ct) =>
                {
                    go.SignalAndWait();
                    Thread.SpinWait(spinStart);
                    status.Started(1);

                    // A start that lost the race waits for this child (Trio's rule); its token is cancelled, so it ends at once.
                    await release.Task.WaitAsync(ct);
                    tokenCancelledAfterStart = ct.IsCancellationRequested;
                }, caller.Token);
                try
                {
                    Assert.AreEqual(1, await start);
                    startReturned = true;
                }
                catch (OperationCanceledException)
                {
                }

                await canceller;
                release.SetResult();
            });
            try
            {
                await run;
            }
            catch (Exception ex)
            {
                nurseryFailed++;
                firstFailure ??= ex;
            }

            if (startReturned)
            {
                started++;
                cancelledAfterStart += tokenCancelledAfterStart ? 1 : 0;
            }
            else
            {
                cancelled++;
            }
        }

        var line = $"StartAsync race: {Races} races, started {started}, start cancelled {cancelled}, child cancelled after its start returned {cancelledAfterStart}, nursery failed {nurseryFailed}";
        Console.WriteLine(line);
        Assert.AreEqual(0, nurseryFailed, line + " first: " + firstFailure);
        Assert.AreEqual(0, cancelledAfterStart, line);
        Assert.AreEqual(Races, started + cancelled);
    }
}
