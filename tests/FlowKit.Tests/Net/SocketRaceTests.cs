using FlowKit.Net;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Net;

/// <summary>Races between a pending operation and what can end it (data, cancellation, close), repeated, on both socket paths
/// (FlowKit's I/O threads and the thread pool): every byte sent is received exactly once, every operation ends.</summary>
[TestClass]
public sealed class SocketRaceTests
{
    public TestContext TestContext { get; set; } = null!;

    private static int Iterations => NetFixtures.Stress ? 5000 : 300;

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task ReceiveRacingCancelAndData_NoByteLostOrDuplicated(bool inlineCompletions)
    {
        var (a, b) = await NetFixtures.TcpPairAsync(inlineCompletions: inlineCompletions);
        await using var _ = a;
        await using var __ = b;
        var received = new List<byte>();
        var cancelled = 0;
        var buffer = new byte[16];
        var random = new Random(11);
        for (var i = 0; i < Iterations; i++)
        {
            using var cts = new CancellationTokenSource();
            var receive = b.ReceiveSomeAsync(buffer, cts.Token).AsTask();
            var value = (byte)i;
            var spin = random.Next(0, 40_000);
            await Task.WhenAll(
                Task.Run(async () => await a.SendAllAsync(new[] { value })),
                Task.Run(() =>
                {
                    // A varying head start for the data, so that both outcomes of the race occur.
                    Thread.SpinWait(spin);
                    cts.Cancel();
                }));
            try
            {
                var n = await receive;
                received.AddRange(buffer.AsSpan(0, n).ToArray());
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }

            // Whatever the race decided, the byte is either delivered already or waiting for the next read.
            while (received.Count < i + 1)
            {
                var n = await b.ReceiveSomeAsync(buffer);
                Assert.AreNotEqual(0, n);
                received.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }

        CollectionAssert.AreEqual(Enumerable.Range(0, Iterations).Select(i => (byte)i).ToArray(), received.ToArray());
        TestContext.WriteLine($"race receive/cancel/data (inline={inlineCompletions}): {Iterations} iterations, {cancelled} cancelled, bytes lost = 0");
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task PendingReceiveRacingClose_AlwaysEnds(bool inlineCompletions)
    {
        var iterations = Iterations / 3;
        for (var i = 0; i < iterations; i++)
        {
            var (a, b) = await NetFixtures.TcpPairAsync(inlineCompletions: inlineCompletions);
            var receive = b.ReceiveSomeAsync(new byte[16]).AsTask();
            await Task.WhenAll(Task.Run(async () => await b.DisposeAsync()), Task.Run(async () => await a.SendAllAsync(new byte[1])));
            try
            {
                var n = await receive;
                Assert.AreEqual(1, n);
            }
            catch (ObjectDisposedException)
            {
            }

            await a.DisposeAsync();
        }

        TestContext.WriteLine($"race receive/close (inline={inlineCompletions}): {iterations} iterations, all ended");
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task PingPong_ManyRoundTrips_EveryByteEchoed(bool inlineCompletions)
    {
        var (a, b) = await NetFixtures.TcpPairAsync(inlineCompletions: inlineCompletions);
        await using var _ = a;
        await using var __ = b;
        var echo = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            int n;
            while ((n = await b.ReceiveSomeAsync(buffer)) > 0)
            {
                await b.SendAllAsync(buffer.AsMemory(0, n));
            }
        });
        var random = new Random(7);
        for (var i = 0; i < Iterations * 10; i++)
        {
            var message = new byte[random.Next(1, 3000)];
            random.NextBytes(message);
            await a.SendAllAsync(message);
            CollectionAssert.AreEqual(message, await a.ReadExactlyAsync(message.Length));
        }

        await a.SendEofAsync();
        await echo;
    }
}
