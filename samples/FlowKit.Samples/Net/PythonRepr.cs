using System.Text;

namespace FlowKit.Samples.Net;

/// <summary>Python's <c>repr()</c> of <c>bytes</c> and of exceptions, so the translated programs print exactly what the course's do.</summary>
public static class PythonRepr
{
    /// <summary>The <c>b'...'</c> form of <paramref name="data"/>.</summary>
    public static string Bytes(ReadOnlySpan<byte> data)
    {
        var quote = data.Contains((byte)'\'') && !data.Contains((byte)'"') ? '"' : '\'';
        var sb = new StringBuilder(data.Length + 3);
        sb.Append('b').Append(quote);
        foreach (var b in data)
        {
            switch (b)
            {
                case (byte)'\\': sb.Append(@"\\"); break;
                case (byte)'\t': sb.Append(@"\t"); break;
                case (byte)'\n': sb.Append(@"\n"); break;
                case (byte)'\r': sb.Append(@"\r"); break;
                default:
                    if (b == quote)
                    {
                        sb.Append('\\').Append(quote);
                    }
                    else if (b is < 0x20 or >= 0x7f)
                    {
                        sb.Append(@"\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append((char)b);
                    }

                    break;
            }
        }

        return sb.Append(quote).ToString();
    }

    /// <summary>The <c>Type('message')</c> form of an exception.</summary>
    public static string Exception(Exception exception) => $"{exception.GetType().Name}('{exception.Message}')";
}
