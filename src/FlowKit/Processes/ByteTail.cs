using System.Text;

namespace FlowKit.Processes;

/// <summary>The last N bytes written to it (a ring buffer), for the tail of a child's standard error.</summary>
internal sealed class ByteTail(int capacity)
{
    private readonly byte[] _ring = new byte[capacity];
    private readonly Lock _gate = new();
    private long _written;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_ring.Length == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (data.Length > _ring.Length)
            {
                _written += data.Length - _ring.Length;
                data = data[^_ring.Length..];
            }

            var start = (int)(_written % _ring.Length);
            var first = Math.Min(data.Length, _ring.Length - start);
            data[..first].CopyTo(_ring.AsSpan(start));
            data[first..].CopyTo(_ring);
            _written += data.Length;
        }
    }

    public string Decode(Encoding encoding)
    {
        lock (_gate)
        {
            if (_written <= _ring.Length)
            {
                return encoding.GetString(_ring, 0, (int)_written);
            }

            var start = (int)(_written % _ring.Length);
            var ordered = new byte[_ring.Length];
            _ring.AsSpan(start).CopyTo(ordered);
            _ring.AsSpan(0, start).CopyTo(ordered.AsSpan(_ring.Length - start));
            // Skip UTF-8 continuation bytes cut in half by the ring.
            var skip = 0;
            while (skip < ordered.Length && (ordered[skip] & 0xC0) == 0x80)
            {
                skip++;
            }

            return encoding.GetString(ordered, skip, ordered.Length - skip);
        }
    }
}
