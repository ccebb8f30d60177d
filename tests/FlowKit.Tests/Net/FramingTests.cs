using System.Buffers.Binary;

using FlowKit.Net;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Net;

/// <summary>Reliability family 25: framing limits and bad inputs (asyncio's StreamReader cases) over a loopback TCP stream.</summary>
[TestClass]
public sealed class FramingTests
{
    private SocketStream _client = null!;
    private SocketStream _server = null!;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public async Task InitializeAsync() => (_client, _server) = await NetFixtures.TcpPairAsync();

    [TestCleanup]
    public async Task CleanupAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    [TestMethod]
    [Timeout(10_000)]
    [DataRow(0)]
    [DataRow(-1)]
    public void Limits_ZeroOrNegative_ThrowArgumentOutOfRange(int limit)
    {
        var lines = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _server.ReadLinesAsync(limit));
        Assert.AreEqual("maxLineLength", lines.ParamName);
        var frames = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _server.ReadFramesAsync(limit));
        Assert.AreEqual("maxFrameSize", frames.ParamName);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task BadArguments_AreRejectedAtTheCall()
    {
        await Assert.ThrowsExactlyAsync<ArgumentException>(async () => await _server.ReceiveSomeAsync(Memory<byte>.Empty));
        await Assert.ThrowsExactlyAsync<ArgumentNullException>(async () => await _server.WriteLineAsync(null!));
        await Assert.ThrowsExactlyAsync<ArgumentOutOfRangeException>(async () => await _server.ReadExactlyAsync(-1));
        await Assert.ThrowsExactlyAsync<ArgumentOutOfRangeException>(() => SocketStream.ConnectTcpAsync("127.0.0.1", 0));
        await Assert.ThrowsExactlyAsync<ArgumentOutOfRangeException>(() => SocketStream.ConnectTcpAsync("127.0.0.1", 65536));
        await Assert.ThrowsExactlyAsync<ArgumentException>(() => SocketStream.ConnectTcpAsync(" ", 80));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SocketServer.ListenTcp(System.Net.IPAddress.Loopback, -1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SocketServer.ListenTcp(System.Net.IPAddress.Loopback, 0, new SocketServerOptions { MaxConnections = 0 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SocketStream.CreateMemoryPair(-1));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ReadExactly_Zero_ReturnsEmpty()
    {
        var bytes = await _server.ReadExactlyAsync(0);
        Assert.IsEmpty(bytes);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task ReadExactly_EndOfStreamFirst_ThrowsIncompleteReadWithCounts()
    {
        await _client.SendAllAsync(new byte[18]);
        await _client.SendEofAsync();
        var ex = await Assert.ThrowsExactlyAsync<IncompleteReadException>(async () => await _server.ReadExactlyAsync(36));
        Assert.AreEqual(18, ex.BytesRead);
        Assert.AreEqual(36, ex.BytesExpected);
        StringAssert.Contains(ex.Message, "18 of 36");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Frames_EndOfStreamMidFrame_ThrowsIncompleteReadWithCounts()
    {
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, 36);
        await _client.SendAllAsync(header);
        await _client.SendAllAsync(new byte[18]);
        await _client.SendEofAsync();
        var ex = await Assert.ThrowsExactlyAsync<IncompleteReadException>(() => CollectFramesAsync(100));
        Assert.AreEqual(18, ex.BytesRead);
        Assert.AreEqual(36, ex.BytesExpected);
        StringAssert.Contains(ex.Message, "18 of 36");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Frames_EndOfStreamInHeader_ThrowsIncompleteRead()
    {
        await _client.SendAllAsync(new byte[] { 0, 0 });
        await _client.SendEofAsync();
        var ex = await Assert.ThrowsExactlyAsync<IncompleteReadException>(() => CollectFramesAsync(100));
        Assert.AreEqual(2, ex.BytesRead);
        Assert.AreEqual(4, ex.BytesExpected);
    }

    [TestMethod]
    [Timeout(10_000)]
    [DataRow(0xFFFFFFFFu, DisplayName = "negative as int32 (-1)")]
    [DataRow(0x80000000u, DisplayName = "int.MinValue")]
    [DataRow(0x7FFFFFFFu, DisplayName = "int.MaxValue")]
    [DataRow(1025u, DisplayName = "limit + 1")]
    public async Task Frames_LengthOverLimit_ThrowsFrameTooLargeAndStreamStaysBroken(uint announced)
    {
        await _client.WriteFrameAsync(new byte[] { 1, 2, 3 });
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, announced);
        await _client.SendAllAsync(header);
        var received = new List<byte[]>();
        var ex = await Assert.ThrowsExactlyAsync<FrameTooLargeException>(async () =>
        {
            await foreach (var frame in _server.ReadFramesAsync(1024))
            {
                received.Add(frame.ToArray());
            }
        });
        Assert.AreEqual(announced, ex.AnnouncedLength);
        Assert.HasCount(1, received);
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, received[0]);
        await Assert.ThrowsExactlyAsync<BrokenStreamException>(async () => await _server.ReceiveSomeAsync(new byte[4]));
        Assert.IsTrue(_server.GetStatistics().IsReadBroken);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Frames_ExactlyAtLimitAndEmpty_AreDelivered()
    {
        await _client.WriteFrameAsync(new byte[1024]);
        await _client.WriteFrameAsync(ReadOnlyMemory<byte>.Empty);
        await _client.SendEofAsync();
        var frames = await CollectFramesAsync(1024);
        Assert.HasCount(2, frames);
        Assert.HasCount(1024, frames[0]);
        Assert.IsEmpty(frames[1]);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Lines_OverLimitWithoutNewline_ThrowsAfterEarlierLinesAndStreamStaysBroken()
    {
        await _client.SendAllAsync("ok\n"u8.ToArray());
        await _client.SendAllAsync(new byte[200].Select(_ => (byte)'x').ToArray());
        var lines = new List<string>();
        var ex = await Assert.ThrowsExactlyAsync<LineTooLongException>(async () =>
        {
            await foreach (var line in _server.ReadLinesAsync(100))
            {
                lines.Add(line);
            }
        });
        CollectionAssert.AreEqual(new[] { "ok" }, lines);
        Assert.AreEqual(100, ex.MaxLineLength);
        await Assert.ThrowsExactlyAsync<BrokenStreamException>(async () => await _server.ReceiveSomeAsync(new byte[4]));
        TestContext.WriteLine("family 25: lines before an over-limit line delivered, bytes lost on error = 0");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Lines_OverLimitWithNewlineInBuffer_Throws()
    {
        await _client.SendAllAsync(System.Text.Encoding.ASCII.GetBytes(new string('y', 101) + "\nnext\n"));
        await Assert.ThrowsExactlyAsync<LineTooLongException>(() => CollectLinesAsync(100));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Lines_AtLimitWithCrLf_AreAccepted()
    {
        var line = new string('z', 100);
        await _client.SendAllAsync(System.Text.Encoding.ASCII.GetBytes(line + "\r\n" + line + "\n"));
        await _client.SendEofAsync();
        CollectionAssert.AreEqual(new[] { line, line }, await CollectLinesAsync(100));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Lines_SeparatorSplitAcrossThreeChunks_IsFound()
    {
        var reading = CollectLinesAsync(100);
        await _client.SendAllAsync("ab"u8.ToArray());
        await _client.SendAllAsync("c\r"u8.ToArray());
        await _client.SendAllAsync("\nd"u8.ToArray());
        await _client.SendEofAsync();
        CollectionAssert.AreEqual(new[] { "abc", "d" }, await reading);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Lines_BigEmptyAndNulLines_RoundTrip()
    {
        var big = new string('q', 64 * 1024);
        var sending = Task.Run(async () =>
        {
            await _client.WriteLineAsync(big);
            await _client.WriteLineAsync(string.Empty);
            await _client.WriteLineAsync("a\0b");
            await _client.SendEofAsync();
        });
        var lines = await CollectLinesAsync(64 * 1024);
        await sending;
        CollectionAssert.AreEqual(new[] { big, string.Empty, "a\0b" }, lines);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Lines_InvalidUtf8_ThrowsInvalidDataAndNextLineStillReadable()
    {
        await _client.SendAllAsync(new byte[] { (byte)'o', 0xC3, 0x28, (byte)'\n', (byte)'f', (byte)'i', (byte)'n', (byte)'e', (byte)'\n' });
        await _client.SendEofAsync();
        await Assert.ThrowsExactlyAsync<InvalidDataException>(() => CollectLinesAsync(100));
        CollectionAssert.AreEqual(new[] { "fine" }, await CollectLinesAsync(100));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Lines_BreakingOutOfEnumeration_KeepsTheRestForTheNextReader()
    {
        await _client.SendAllAsync("one\ntwo\nthree\n"u8.ToArray());
        await _client.SendEofAsync();
        await foreach (var line in _server.ReadLinesAsync(100))
        {
            Assert.AreEqual("one", line);
            break;
        }

        CollectionAssert.AreEqual(new[] { "two", "three" }, await CollectLinesAsync(100));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Chunks_UntilEndOfStream_ReassembleToWhatWasSent()
    {
        var data = NetFixtures.RandomBytes(300_000, 9);
        var sending = Task.Run(async () =>
        {
            await _client.SendAllAsync(data);
            await _client.SendEofAsync();
        });
        using var collected = new MemoryStream();
        await foreach (var chunk in _server.ReadChunksAsync())
        {
            collected.Write(chunk.Span);
        }

        await sending;
        CollectionAssert.AreEqual(data, collected.ToArray());
        Assert.AreEqual(data.Length, _server.GetStatistics().BytesReceived);
    }

    private async Task<List<string>> CollectLinesAsync(int limit)
    {
        var lines = new List<string>();
        await foreach (var line in _server.ReadLinesAsync(limit))
        {
            lines.Add(line);
        }

        return lines;
    }

    private async Task<List<byte[]>> CollectFramesAsync(int limit)
    {
        var frames = new List<byte[]>();
        await foreach (var frame in _server.ReadFramesAsync(limit))
        {
            frames.Add(frame.ToArray());
        }

        return frames;
    }
}
