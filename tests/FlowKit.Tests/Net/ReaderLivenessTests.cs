using System.Diagnostics;

using FlowKit.Net;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Net;

/// <summary>Liveness of the line and frame readers on the real clock: a peer that sends k complete records and then waits for our
/// reply must see all k yielded promptly, on every transport (FlowKit's I/O threads, the thread pool, TLS), whatever the split of
/// the bytes into sends. A reader that held a record back waiting for more bytes would stall the exchange for good.</summary>
[TestClass]
public sealed class ReaderLivenessTests
{
    public TestContext TestContext { get; set; } = null!;

    private static int Iterations => NetFixtures.Stress ? 20_000 : 1_000;

    [TestMethod]
    [Timeout(120_000)]
    [DataRow("epoll", "lines")]
    [DataRow("epoll", "frames")]
    [DataRow("threadpool", "lines")]
    [DataRow("threadpool", "frames")]
    [DataRow("tls", "lines")]
    [DataRow("tls", "frames")]
    public async Task PeerSendsKRecordsThenWaits_AllKYieldedPromptly(string transport, string kind)
    {
        var (client, server) = transport switch
        {
            "epoll" => await NetFixtures.TcpPairAsync(inlineCompletions: true),
            "threadpool" => await NetFixtures.TcpPairAsync(inlineCompletions: false),
            _ => await NetFixtures.TlsPairAsync(),
        };
        await using var _ = client;
        await using var __ = server;
        var random = new Random(kind.Length * 31 + transport.Length);
        var plan = Enumerable.Range(0, Iterations).Select(_ => random.Next(1, 17)).ToArray();

        // The server counts records and acknowledges each batch once it has seen all of it; it never waits for more than it was sent.
        var serving = Task.Run(async () =>
        {
            var round = 0;
            var seen = 0;
            if (kind == "lines")
            {
                await foreach (var line in server.ReadLinesAsync(256))
                {
                    Assert.AreEqual($"{round}:{seen}", line);
                    if (++seen == plan[round])
                    {
                        await server.WriteLineAsync($"ack {round}");
                        seen = 0;
                        round++;
                    }
                }
            }
            else
            {
                await foreach (var frame in server.ReadFramesAsync(256))
                {
                    Assert.AreEqual(seen % 251, frame.Length);
                    if (++seen == plan[round])
                    {
                        await server.WriteFrameAsync(BitConverter.GetBytes(round));
                        seen = 0;
                        round++;
                    }
                }
            }

            return round;
        });

        var waits = new double[Iterations];
        await using var acks = client.ReadLinesAsync(64).GetAsyncEnumerator();
        await using var ackFrames = client.ReadFramesAsync(64).GetAsyncEnumerator();
        for (var round = 0; round < Iterations; round++)
        {
            var bytes = new List<byte>();
            for (var i = 0; i < plan[round]; i++)
            {
                if (kind == "lines")
                {
                    bytes.AddRange(System.Text.Encoding.UTF8.GetBytes($"{round}:{i}\n"));
                }
                else
                {
                    var length = i % 251;
                    bytes.AddRange([(byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length]);
                    bytes.AddRange(new byte[length]);
                }
            }

            // Sent whole, byte-split or in random pieces: the last piece completes the last record, then the peer waits.
            var all = bytes.ToArray();
            var offset = 0;
            var mode = round % 3;
            while (offset < all.Length)
            {
                var piece = mode == 0 ? all.Length : mode == 1 ? Math.Min(all.Length - offset, 1 + (round % 7)) : random.Next(1, all.Length - offset + 1);
                piece = Math.Min(piece, all.Length - offset);
                await client.SendAllAsync(all.AsMemory(offset, piece));
                offset += piece;
            }

            var watch = Stopwatch.StartNew();
            Task<bool> ack;
            if (kind == "lines")
            {
                ack = acks.MoveNextAsync().AsTask();
            }
            else
            {
                ack = ackFrames.MoveNextAsync().AsTask();
            }

            if (await Task.WhenAny(ack, Task.Delay(10_000)) != ack)
            {
                Assert.Fail($"round {round}: {plan[round]} complete records sent, the reader did not yield them all within 10 s ({transport}, {kind})");
            }

            Assert.IsTrue(await ack);
            waits[round] = watch.Elapsed.TotalMilliseconds;
            if (kind == "lines")
            {
                Assert.AreEqual($"ack {round}", acks.Current);
            }
            else
            {
                Assert.AreEqual(round, BitConverter.ToInt32(ackFrames.Current.Span));
            }
        }

        await client.SendEofAsync();
        Assert.AreEqual(Iterations, await serving);
        Array.Sort(waits);
        TestContext.WriteLine(
            $"{transport} {kind}: {Iterations} rounds of 1-16 records then a stall, stalls with records undelivered = 0; reply wait p50 {waits[Iterations / 2]:0.000} ms, p99 {waits[Iterations * 99 / 100]:0.000} ms, max {waits[^1]:0.000} ms");
    }
}
