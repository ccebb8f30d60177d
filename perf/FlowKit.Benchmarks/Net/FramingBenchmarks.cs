using System.Buffers;
using System.Buffers.Binary;

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

using FlowKit.Net;

namespace FlowKit.Benchmarks.Net;

/// <summary>Decoding 1,000 length-prefixed frames and 1,000 lines already in memory: FlowKit's decoders (over
/// <see cref="ReadOnlySequence{T}"/>, as the pipe hands them) against a hand-written loop over a span (the baseline).</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class FramingBenchmarks
{
    private byte[] _frames = null!;
    private byte[] _lines = null!;

    [GlobalSetup]
    public void Setup()
    {
        var frames = new List<byte>();
        var lines = new List<byte>();
        var header = new byte[4];
        for (var i = 0; i < 1000; i++)
        {
            var length = 20 + (i % 100);
            BinaryPrimitives.WriteInt32BigEndian(header, length);
            frames.AddRange(header);
            frames.AddRange(Enumerable.Repeat((byte)'x', length));
            lines.AddRange(Enumerable.Repeat((byte)'y', length));
            lines.Add((byte)'\n');
        }

        _frames = frames.ToArray();
        _lines = lines.ToArray();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Frames")]
    public long Span_FrameLoop()
    {
        long total = 0;
        ReadOnlySpan<byte> span = _frames;
        while (span.Length >= 4)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(span);
            total += length;
            span = span[(4 + length)..];
        }

        return total;
    }

    [Benchmark]
    [BenchmarkCategory("Frames")]
    public long FrameDecoder_Sequence()
    {
        long total = 0;
        var buffer = new ReadOnlySequence<byte>(_frames);
        while (FrameDecoder.TryRead(buffer, 1024, out var payload, out var next))
        {
            total += payload.Length;
            buffer = buffer.Slice(next);
        }

        return total;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Lines")]
    public long Span_LineLoop()
    {
        long total = 0;
        ReadOnlySpan<byte> span = _lines;
        int index;
        while ((index = span.IndexOf((byte)'\n')) >= 0)
        {
            total += index;
            span = span[(index + 1)..];
        }

        return total;
    }

    [Benchmark]
    [BenchmarkCategory("Lines")]
    public long LineDecoder_Sequence()
    {
        long total = 0;
        var buffer = new ReadOnlySequence<byte>(_lines);
        while (LineDecoder.TryRead(buffer, 1024, out var line, out var next))
        {
            total += line.Length;
            buffer = buffer.Slice(next);
        }

        return total;
    }
}
