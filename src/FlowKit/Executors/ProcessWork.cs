using System.Text;
using System.Text.Json.Serialization.Metadata;

namespace FlowKit;

/// <summary>A handle naming work that a worker process runs: the name a <see cref="ProcessWorkerRegistry"/> registered, and the
/// JSON contracts of its argument and result. Obtain it from <see cref="ProcessWorkerRegistry"/>, or build it directly when the
/// worker is another program.</summary>
/// <typeparam name="TIn">The argument, serialised with System.Text.Json.</typeparam>
/// <typeparam name="TOut">The result, serialised with System.Text.Json.</typeparam>
public sealed class ProcessWork<TIn, TOut>
{
    /// <summary>The longest accepted name, in UTF-8 bytes.</summary>
    public const int MaxNameLength = 1024;

    /// <summary>Names work registered in the worker under <paramref name="name"/>.</summary>
    /// <param name="name">The registered name (1 to <see cref="MaxNameLength"/> UTF-8 bytes).</param>
    /// <param name="inputType">The argument's JSON contract (from a source-generated <c>JsonSerializerContext</c> for AOT).</param>
    /// <param name="outputType">The result's JSON contract.</param>
    public ProcessWork(string name, JsonTypeInfo<TIn> inputType, JsonTypeInfo<TOut> outputType)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(inputType);
        ArgumentNullException.ThrowIfNull(outputType);
        NameUtf8 = Encoding.UTF8.GetBytes(name);
        if (NameUtf8.Length > MaxNameLength)
        {
            throw new ArgumentOutOfRangeException(nameof(name), name.Length, $"name must be 1 to {MaxNameLength} UTF-8 bytes long.");
        }

        Name = name;
        InputType = inputType;
        OutputType = outputType;
    }

    /// <summary>The registered name.</summary>
    public string Name { get; }

    /// <summary>The argument's JSON contract.</summary>
    public JsonTypeInfo<TIn> InputType { get; }

    /// <summary>The result's JSON contract.</summary>
    public JsonTypeInfo<TOut> OutputType { get; }

    internal byte[] NameUtf8 { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
