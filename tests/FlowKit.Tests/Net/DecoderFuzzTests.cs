using System.Buffers.Binary;
using System.Text;

using CsCheck;

using FlowKit.Net;

namespace FlowKit.Tests.Net;

/// <summary>
/// Property tests of the line and frame decoders, bounded in time: random bytes arrive in random chunks through an in-memory stream,
/// and what the stream yields (and the exception it ends with) must equal a simple reference decoder run over the whole input.
/// The decoder never hangs (the test's timeout), never yields past its limit, and only throws its documented exceptions.
/// </summary>
[TestClass]
public sealed class DecoderFuzzTests
{
    private const int MaxFrame = 64;
    private const int MaxLine = 16;

    private static readonly Gen<byte[]> FrameishBytes = Gen.OneOf(
        Gen.Byte.Array[0, 300],
        Gen.Byte[0, 40].Array[0, 12].Select(EncodeFrames));

    private static readonly Gen<byte[]> Lineish = Gen.OneOf((byte)'a', (byte)'b', (byte)'\r', (byte)'\n', (byte)'\n', (byte)0xC3, (byte)0xA9, (byte)0)
        .Array[0, 200];

    public TestContext TestContext { get; set; } = null!;

    // The time budget must stay well inside the [Timeout] below (under FLOWKIT_TEST_STRESS=1 it once equalled it, so every stress run
    // timed out).
    private static int Seconds => TestUtilities.NetFixtures.Stress ? 60 : 3;

    [TestMethod]
    [Timeout(180_000)]
    public async Task Frames_RandomBytesInRandomChunks_MatchReferenceDecoder()
    {
        var runs = 0;
        await Gen.Select(FrameishBytes, Gen.Int, Gen.Int[0, 2]).SampleAsync(
            async (bytes, seed, capacityKind) =>
            {
                Interlocked.Increment(ref runs);
                var expected = ReferenceFrames(bytes);
                var actual = await DecodeThroughStreamAsync(bytes, seed, capacityKind, s => s.ReadFramesAsync(MaxFrame), m => Convert.ToHexString(m.Span));
                Assert.AreEqual(expected, actual);
            },
            time: Seconds,
            threads: 2,
            writeLine: TestContext.WriteLine);
        TestContext.WriteLine($"family 25 fuzz: {runs} frame inputs matched the reference decoder");
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task Lines_RandomBytesInRandomChunks_MatchReferenceDecoder()
    {
        var runs = 0;
        await Gen.Select(Lineish, Gen.Int, Gen.Int[0, 2]).SampleAsync(
            async (bytes, seed, capacityKind) =>
            {
                Interlocked.Increment(ref runs);
                var expected = ReferenceLines(bytes);
                var actual = await DecodeThroughStreamAsync(bytes, seed, capacityKind, s => s.ReadLinesAsync(MaxLine), l => l);
                Assert.AreEqual(expected, actual);
            },
            time: Seconds,
            threads: 2,
            writeLine: TestContext.WriteLine);
        TestContext.WriteLine($"family 25 fuzz: {runs} line inputs matched the reference decoder");
    }

    private static byte[] EncodeFrames(byte[] lengths)
    {
        var output = new List<byte>();
        var header = new byte[4];
        foreach (var length in lengths)
        {
            BinaryPrimitives.WriteInt32BigEndian(header, length);
            output.AddRange(header);
            output.AddRange(Enumerable.Range(0, length).Select(i => (byte)(i * 7)));
        }

        return output.ToArray();
    }

    private static async Task<string> DecodeThroughStreamAsync<T>(byte[] bytes, int seed, int capacityKind, Func<SocketStream, IAsyncEnumerable<T>> read, Func<T, string> show)
    {
        var capacity = capacityKind switch { 0 => 0, 1 => 7, _ => 64 * 1024 };
        var (writer, reader) = SocketStream.CreateMemoryPair(capacity);
        var random = new Random(seed);
        var sending = Task.Run(async () =>
        {
            for (var offset = 0; offset < bytes.Length;)
            {
                var length = Math.Min(random.Next(1, 20), bytes.Length - offset);
                await writer.SendAllAsync(bytes.AsMemory(offset, length));
                offset += length;
            }

            await writer.SendEofAsync();
        });
        var items = new List<string>();
        string ending;
        try
        {
            await foreach (var item in read(reader))
            {
                items.Add(show(item));
            }

            ending = "end";
        }
        catch (Exception ex) when (ex is LineTooLongException or FrameTooLargeException or IncompleteReadException or InvalidDataException)
        {
            ending = ex.GetType().Name;
        }

        await reader.DisposeAsync();
        try
        {
            await sending;
        }
        catch (Exception ex) when (ex is BrokenStreamException or ObjectDisposedException)
        {
            // The reader stopped early; the writer's remaining bytes had nowhere to go.
        }

        await writer.DisposeAsync();
        return string.Join("|", items) + " => " + ending;
    }

    private static string ReferenceFrames(byte[] bytes)
    {
        var items = new List<string>();
        var offset = 0;
        while (true)
        {
            var rest = bytes.Length - offset;
            if (rest == 0)
            {
                return string.Join("|", items) + " => end";
            }

            if (rest < 4)
            {
                return string.Join("|", items) + " => " + nameof(IncompleteReadException);
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset));
            if (length > MaxFrame)
            {
                return string.Join("|", items) + " => " + nameof(FrameTooLargeException);
            }

            if (rest - 4 < length)
            {
                return string.Join("|", items) + " => " + nameof(IncompleteReadException);
            }

            items.Add(Convert.ToHexString(bytes, offset + 4, (int)length));
            offset += 4 + (int)length;
        }
    }

    private static string ReferenceLines(byte[] bytes)
    {
        var strict = new UTF8Encoding(false, true);
        var items = new List<string>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            var newline = Array.IndexOf(bytes, (byte)'\n', offset);
            var end = newline < 0 ? bytes.Length : newline;
            var length = end - offset;
            if (newline >= 0 && length > 0 && bytes[end - 1] == (byte)'\r')
            {
                length--;
            }

            if (length > MaxLine)
            {
                return string.Join("|", items) + " => " + nameof(LineTooLongException);
            }

            try
            {
                items.Add(strict.GetString(bytes, offset, length));
            }
            catch (DecoderFallbackException)
            {
                return string.Join("|", items) + " => " + nameof(InvalidDataException);
            }

            offset = newline < 0 ? bytes.Length : newline + 1;
        }

        return string.Join("|", items) + " => end";
    }
}
