using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace FlowKit;

/// <summary>A registered handler as the worker runs it: JSON bytes in, JSON bytes out.</summary>
internal abstract class ProcessWorkHandler
{
    public abstract byte[] Invoke(ReadOnlySpan<byte> payload, CancellationToken cancellationToken);
}

internal sealed class ProcessWorkHandler<TIn, TOut>(Func<TIn, CancellationToken, TOut> handler, JsonTypeInfo<TIn> inputType, JsonTypeInfo<TOut> outputType)
    : ProcessWorkHandler
{
    public override byte[] Invoke(ReadOnlySpan<byte> payload, CancellationToken cancellationToken)
    {
        var input = JsonSerializer.Deserialize(payload, inputType)!;
        var output = handler(input, cancellationToken);
        return JsonSerializer.SerializeToUtf8Bytes(output, outputType);
    }
}
