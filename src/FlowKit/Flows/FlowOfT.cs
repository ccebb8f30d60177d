using System.Diagnostics;
using System.Text;

using FlowKit.Flows;

namespace FlowKit;

/// <summary>
/// A cold, backpressured pipeline description: a source, a chain of stages and, once a sink runs it (<c>ForEachAsync</c>, <c>ToListAsync</c>,
/// <c>ToAsyncEnumerable</c>, ...), a set of tasks under one <see cref="Nursery"/> linked by bounded buffers. Running it returns when the last
/// item is consumed, the token is cancelled or a stage fails, and then every stage has stopped. A flow can run again if its source can be read again.
/// </summary>
/// <typeparam name="T">The items the flow produces.</typeparam>
/// <example>
/// <code>
/// var total = await Flow.From(File.ReadLinesAsync(path))
///     .Select(ParseLine)
///     .Where(entry => entry.Level == "ERROR")
///     .Select(EnrichAsync, new StageOptions { Parallelism = 4 })
///     .Batch(500, TimeSpan.FromMilliseconds(200))
///     .ForEachAsync(SaveBatchAsync, cancellationToken);
/// </code>
/// </example>
[DebuggerDisplay("{StageName,nq}: {Kind,nq}")]
public abstract class Flow<T> : IFlowNode
{
    private protected Flow(string kind, IFlowNode? upstream)
    {
        Kind = kind;
        Depth = upstream is null ? 0 : upstream.Depth + 1;
        FlowName = upstream?.FlowName ?? "flow";
    }

    private protected Flow(string kind, IReadOnlyList<IFlowNode> upstreams)
    {
        Kind = kind;
        Depth = upstreams.Count == 0 ? 0 : upstreams.Max(u => u.Depth) + 1;
        FlowName = upstreams.Count == 0 ? "flow" : upstreams[0].FlowName;
    }

    /// <summary>The operator, such as <c>Select</c>.</summary>
    public string Kind { get; }

    /// <summary>The stage's name in errors, metrics and <see cref="Describe"/>: the name given with <c>Named</c>, else operator and position.</summary>
    public string StageName => CustomName ?? $"{Kind}#{Depth}";

    /// <summary>The flow's name, the <c>flow</c> tag of its metrics (set with <c>WithFlowName</c>).</summary>
    public string FlowName { get; private set; }

    int IFlowNode.Depth => Depth;

    internal int Depth { get; }

    internal string? CustomName { get; private set; }

    /// <summary>The stages feeding this one.</summary>
    internal abstract IReadOnlyList<IFlowNode> Inputs { get; }

    IReadOnlyList<IFlowNode> IFlowNode.Inputs => Inputs;

    /// <summary>The options worth showing in <see cref="Describe"/>, or empty.</summary>
    internal virtual string Details => string.Empty;

    string IFlowNode.Details => Details;

    /// <summary>The bounded buffer in front of this stage, or null when it is fused into its upstream.</summary>
    internal virtual int? InputCapacity => null;

    int? IFlowNode.InputCapacity => InputCapacity;

    /// <summary>The label of the edges into this stage in <see cref="Describe"/>.</summary>
    internal virtual string EdgeLabel => InputCapacity is { } capacity
        ? "\"buffer " + capacity.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\""
        : "fused";

    string IFlowNode.EdgeLabel => EdgeLabel;

    /// <summary>Returns the pipeline as a Mermaid flowchart: one node per stage (operator, name, options), edges labelled with their buffer
    /// (<c>fused</c> when a synchronous stage runs inline in its upstream).</summary>
    /// <returns>Mermaid text, starting with <c>flowchart LR</c>.</returns>
    public string Describe()
    {
        var ids = new Dictionary<IFlowNode, string>(ReferenceEqualityComparer.Instance);
        var nodes = new StringBuilder();
        var edges = new StringBuilder();
        Visit(this);
        nodes.Append("  ").Append(ids[this]).Append(" --> sink((\"sink\"))\n");
        return "flowchart LR\n" + nodes + edges;

        string Visit(IFlowNode node)
        {
            if (ids.TryGetValue(node, out var id))
            {
                return id;
            }

            foreach (var input in node.Inputs)
            {
                Visit(input);
            }

            id = "s" + ids.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ids.Add(node, id);
            var label = node.Kind == node.StageName || node.StageName.StartsWith(node.Kind + "#", StringComparison.Ordinal)
                ? node.StageName
                : $"{node.StageName}: {node.Kind}";
            if (node.Details.Length > 0)
            {
                label += "<br/>" + node.Details;
            }

            nodes.Append("  ").Append(id).Append("[\"").Append(label.Replace("\"", "'", StringComparison.Ordinal)).Append("\"]\n");
            foreach (var input in node.Inputs)
            {
                edges.Append("  ").Append(ids[input]).Append(" -- ").Append(node.EdgeLabel).Append(" --> ").Append(id).Append('\n');
            }

            return id;
        }
    }

    /// <summary>Builds this stage for one run: wires it in front of <paramref name="downstream"/> and registers its tasks with <paramref name="run"/>.</summary>
    internal abstract void Materialize(FlowRun run, Emitter<T> downstream);

    internal Flow<T> WithStageName(string name)
    {
        var copy = (Flow<T>)MemberwiseClone();
        copy.CustomName = name;
        return copy;
    }

    internal Flow<T> WithFlowNameCore(string name)
    {
        var copy = (Flow<T>)MemberwiseClone();
        copy.FlowName = name;
        return copy;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{StageName} ({Kind}) in flow '{FlowName}'";
}
