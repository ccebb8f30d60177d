using System.Text;
using FlowKit.Processes;

namespace FlowKit.Tests.Processes;

[TestClass]
public sealed class ByteTailTests
{
    [TestMethod]
    [Timeout(10_000)]
    [DataRow(8, new[] { 3 }, "abc")]
    [DataRow(8, new[] { 3, 5 }, "abcdefgh")]
    [DataRow(8, new[] { 3, 6 }, "bcdefghi")]
    [DataRow(8, new[] { 20 }, "mnopqrst")]
    [DataRow(8, new[] { 5, 5, 5, 5 }, "mnopqrst")]
    [DataRow(8, new[] { 7, 1, 9 }, "jklmnopq")]
    [DataRow(1, new[] { 2, 3 }, "e")]
    [DataRow(0, new[] { 4 }, "")]
    public void Append_KeepsExactlyTheLastBytesInOrder(int capacity, int[] writes, string expected)
    {
        var tail = new ByteTail(capacity);
        var next = 'a';
        foreach (var length in writes)
        {
            var chunk = new byte[length];
            for (var i = 0; i < length; i++)
            {
                chunk[i] = (byte)next++;
            }

            tail.Append(chunk);
        }

        Assert.AreEqual(expected, tail.Decode(Encoding.ASCII));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Decode_CutInsideAMultiByteCharacter_SkipsTheBrokenPrefix()
    {
        var tail = new ByteTail(5);
        tail.Append(Encoding.UTF8.GetBytes("x\u20acab\u00e9"));   // x, 3-byte euro, a, b, 2-byte e-acute: 8 bytes
        Assert.AreEqual("ab\u00e9", tail.Decode(Encoding.UTF8));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Append_RandomWrites_MatchesTheLastBytesOfEverything()
    {
        var random = new Random(1234);
        for (var iteration = 0; iteration < 300; iteration++)
        {
            var capacity = random.Next(1, 64);
            var tail = new ByteTail(capacity);
            var all = new List<byte>();
            for (var w = random.Next(1, 20); w > 0; w--)
            {
                var chunk = new byte[random.Next(0, 100)];
                for (var i = 0; i < chunk.Length; i++)
                {
                    chunk[i] = (byte)random.Next('a', 'z' + 1);
                }

                tail.Append(chunk);
                all.AddRange(chunk);
            }

            var expected = Encoding.ASCII.GetString(all.Skip(Math.Max(0, all.Count - capacity)).ToArray());
            Assert.AreEqual(expected, tail.Decode(Encoding.ASCII), $"iteration {iteration}, capacity {capacity}");
        }
    }
}
