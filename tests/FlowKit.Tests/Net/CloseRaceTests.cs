using System.Net;
using System.Net.Sockets;

using FlowKit.Net;
using FlowKit.Tests.TestUtilities;

namespace FlowKit.Tests.Net;

/// <summary>Our own close racing a read or a write: every pending and every later operation ends with
/// <see cref="ObjectDisposedException"/>, on every transport; a close never reads as data nor as the peer's end of stream (no
/// partial line yielded as complete, no <see cref="IncompleteReadException"/> for a partial frame). Deterministic cases first (the
/// exact interleavings that once hung or forged a record), then the real races repeated.</summary>
[TestClass]
public sealed class CloseRaceTests
{
    public TestContext TestContext { get; set; } = null!;

    // The read-after-short-read race once hung about 1 in 20,000-40,000: the stress figure covers that, CI runs a few thousand.
    private static int ReadRaces => NetFixtures.Stress ? 60_000 : 5_000;

    // The partial-record race forged a record about 7 in 2,000 (thread pool) and hung 1 in 400-2,000 (epoll).
    private static int RecordRaces => NetFixtures.Stress ? 20_000 : 2_000;

    [TestMethod]
    [Timeout(10_000)]
    public async Task Reactor_ReadAfterShortReadThenClose_ThrowsObjectDisposed()
    {
        if (!EpollInterop.IsSupported)
        {
            Assert.Inconclusive("FlowKit's I/O threads run on x64 Linux only.");
        }

        var (client, server) = await RawPairAsync();
        using var _ = client;
        var reactor = EpollReactor.Attach(server);
        client.Send(new byte[] { 1 });

        // A short read (1 of 16 bytes) marks the socket drained, so the next read would wait for an edge without a system call.
        var buffer = new byte[16];
        Assert.AreEqual(1, await ReadOneAsync(reactor, buffer));
        reactor.Dispose();

        var read = reactor.ReadAsync(buffer).AsTask();
        var write = reactor.WriteAsync(new byte[] { 2 }).AsTask();
        Assert.AreSame(read, await Task.WhenAny(read, Task.Delay(5_000)), "a read after the close must not stay pending");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => read);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => write);
        Assert.IsFalse(reactor.IsRegistered, "the reactor must forget a closed socket");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Reactor_UserDisposesSocketDirectly_ReactorForgetsIt()
    {
        if (!EpollInterop.IsSupported)
        {
            Assert.Inconclusive("FlowKit's I/O threads run on x64 Linux only.");
        }

        // Closing the socket itself (not the stream) skips the stream's close; the I/O thread must still not keep the entry.
        var (client, server) = await RawPairAsync();
        using var _ = client;
        var reactor = EpollReactor.Attach(server);
        Assert.IsTrue(reactor.IsRegistered);
        server.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ReadOneAsync(reactor, new byte[16]));
        Assert.IsFalse(reactor.IsRegistered, "an operation that finds the socket disposed must unregister it");

        var (client2, server2) = await RawPairAsync();
        using var __ = client2;
        var reactor2 = EpollReactor.Attach(server2);
        server2.Dispose();
        reactor2.Dispose();
        Assert.IsFalse(reactor2.IsRegistered, "closing the stream after its socket must unregister it");
    }

    [TestMethod]
    [Timeout(10_000)]
    [DataRow("lines")]
    [DataRow("frames")]
    public async Task TransportEndsReadAtOwnClose_PartialRecordIsNotForged(string kind)
    {
        // A transport that reports our own close to a pending read as a clean end of stream, as NetworkStream sometimes does.
        var transport = new EofOnCloseTransport(kind == "lines");
        var stream = new SocketStream(transport, new SocketStreamOptions());
        var reading = ReadAllAsync(stream, kind);
        await transport.Pending.Task;
        await stream.DisposeAsync();
        var ex = await Assert.ThrowsAsync<ObjectDisposedException>(() => reading);
        StringAssert.Contains(ex.Message, "closed");
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(true)]
    [DataRow(false)]
    public async Task ReadAfterShortRead_RacingClose_EndsWithObjectDisposed(bool inlineCompletions)
    {
        var streamOptions = new SocketStreamOptions { InlineCompletions = inlineCompletions };
        await using var listener = SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { StreamOptions = streamOptions });
        var buffer = new byte[16];
        int disposed = 0, data = 0, hung = 0;
        for (var i = 0; i < ReadRaces; i++)
        {
            var accept = listener.AcceptAsync().AsTask();
            await using var client = await SocketStream.ConnectTcpAsync(listener.LocalEndPoint);
            var server = await accept;
            await client.SendAllAsync(new byte[] { 1 });
            Assert.AreEqual(1, await server.ReceiveSomeAsync(buffer));
            var close = Task.Run(async () => await server.DisposeAsync());
            Task<int> read;
            try
            {
                read = server.ReceiveSomeAsync(buffer).AsTask();
            }
            catch (ObjectDisposedException)
            {
                disposed++;
                await close;
                continue;
            }

            if (await Task.WhenAny(read, Task.Delay(5_000)) != read)
            {
                hung++;
                await close;
                continue;
            }

            try
            {
                var n = await read;
                Assert.AreNotEqual(0, n, "our own close read as the peer's end of stream");
                data++;
            }
            catch (ObjectDisposedException)
            {
                disposed++;
            }

            await close;
        }

        TestContext.WriteLine($"read after a short read racing close (inline={inlineCompletions}): {ReadRaces} races, {disposed} ObjectDisposedException, {data} data, {hung} hung");
        Assert.AreEqual(0, hung, "reads left pending by a close");
        Assert.AreEqual(0, data, "nothing was sent after the first byte");
    }

    [TestMethod]
    [Timeout(90_000)]
    [DataRow(true, "lines")]
    [DataRow(true, "frames")]
    [DataRow(false, "lines")]
    [DataRow(false, "frames")]
    public async Task RecordReaderWithPartialRecord_RacingClose_NeverYieldsOrEndsCleanly(bool inlineCompletions, string kind)
    {
        var streamOptions = new SocketStreamOptions { InlineCompletions = inlineCompletions };
        await using var listener = SocketServer.ListenTcp(IPAddress.Loopback, 0, new SocketServerOptions { StreamOptions = streamOptions });
        int disposed = 0, hung = 0, forged = 0, wrong = 0;
        var partial = kind == "lines" ? "complete\npart"u8.ToArray() : [0, 0, 0, 2, 7, 7, 0, 0, 0, 9, 1, 2];
        for (var i = 0; i < RecordRaces; i++)
        {
            var accept = listener.AcceptAsync().AsTask();
            await using var client = await SocketStream.ConnectTcpAsync(listener.LocalEndPoint);
            var server = await accept;
            var records = 0;
            var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reading = Task.Run(async () =>
            {
                if (kind == "lines")
                {
                    await foreach (var line in server.ReadLinesAsync(64))
                    {
                        records++;
                        firstSeen.TrySetResult();
                    }
                }
                else
                {
                    await foreach (var frame in server.ReadFramesAsync(64))
                    {
                        records++;
                        firstSeen.TrySetResult();
                    }
                }
            });
            await client.SendAllAsync(partial);
            await Task.WhenAny(firstSeen.Task, reading);

            // The complete record is out, the partial one is buffered (or on its way): close under the pending read, at a varying moment.
            Thread.SpinWait(i % 64 * 50);
            await server.DisposeAsync();
            if (await Task.WhenAny(reading, Task.Delay(5_000)) != reading)
            {
                hung++;
                continue;
            }

            try
            {
                await reading;
                forged++;
            }
            catch (ObjectDisposedException)
            {
                disposed++;
            }
            catch (Exception)
            {
                wrong++;
            }

            if (records > 1)
            {
                forged++;
            }
        }

        TestContext.WriteLine($"{kind} reader with a partial record racing close (inline={inlineCompletions}): {RecordRaces} races, {disposed} ObjectDisposedException, {forged} forged, {wrong} other, {hung} hung");
        Assert.AreEqual(0, hung, "readers left pending by a close");
        Assert.AreEqual(0, forged, "a close read as a record or as a clean end of stream");
        Assert.AreEqual(0, wrong, "a close must end the reader with ObjectDisposedException");
    }

    private static async Task ReadAllAsync(SocketStream stream, string kind)
    {
        if (kind == "lines")
        {
            await foreach (var line in stream.ReadLinesAsync(64))
            {
                Assert.Fail($"the partial line '{line}' was yielded");
            }
        }
        else
        {
            await foreach (var frame in stream.ReadFramesAsync(64))
            {
                Assert.Fail("a partial frame was yielded");
            }
        }
    }

    private static async Task<int> ReadOneAsync(Stream stream, byte[] buffer) => await stream.ReadAsync(buffer);

    private static async Task<(Socket Client, Socket Server)> RawPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        return (client, await accept);
    }

    /// <summary>Hands out a partial line and a partial frame on the first read; the second read stays pending until the close, which
    /// ends it with 0 bytes (an end of stream that is really our own close).</summary>
    private sealed class EofOnCloseTransport : StreamTransport
    {
        private readonly FakeStream _stream;
        private readonly bool _lines;

        public EofOnCloseTransport(bool lines)
        {
            _lines = lines;
            _stream = new FakeStream(this);
        }

        public TaskCompletionSource Pending { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<int> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override Stream Stream => _stream;

        public override Socket? Socket => null;

        public override ValueTask SendEofAsync() => ValueTask.CompletedTask;

        public override ValueTask CloseAsync()
        {
            Closed.TrySetResult(0);
            return ValueTask.CompletedTask;
        }

        private sealed class FakeStream(EofOnCloseTransport owner) : Stream
        {
            private int _reads;

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => true;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            {
                if (buffer.IsEmpty && Volatile.Read(ref _reads) == 0)
                {
                    // A zero-byte read (waiting for data before renting a buffer): the data is there.
                    return new ValueTask<int>(0);
                }

                if (!buffer.IsEmpty && Interlocked.Increment(ref _reads) == 1)
                {
                    // "part" of a line, or a frame header announcing 9 bytes and 2 of them.
                    byte[] partial = owner._lines ? [(byte)'p', (byte)'a', (byte)'r', (byte)'t'] : [0, 0, 0, 9, 1, 2];
                    partial.CopyTo(buffer);
                    return new ValueTask<int>(partial.Length);
                }

                owner.Pending.TrySetResult();
                return new ValueTask<int>(owner.Closed.Task);
            }

            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();
        }
    }
}
