namespace FlowKit.Flows;

/// <summary>The untyped view of a flow stage that <see cref="Flow{T}.Describe"/> walks.</summary>
internal interface IFlowNode
{
    string Kind { get; }

    string StageName { get; }

    string FlowName { get; }

    int Depth { get; }

    string Details { get; }

    int? InputCapacity { get; }

    string EdgeLabel { get; }

    IReadOnlyList<IFlowNode> Inputs { get; }
}
