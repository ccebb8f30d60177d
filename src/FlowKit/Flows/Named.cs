namespace FlowKit;

public static partial class Flow
{
    /// <summary>Names the last stage of <paramref name="flow"/> for errors (<see cref="FlowStageException.StageName"/>), metrics (the
    /// <c>flowkit.stage</c> tag) and <see cref="Flow{T}.Describe"/>.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow whose last stage gets the name.</param>
    /// <param name="name">A non-blank name.</param>
    /// <returns>The same flow with its last stage named.</returns>
    public static Flow<T> Named<T>(this Flow<T> flow, string name)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return flow.WithStageName(name);
    }

    /// <summary>Applies <see cref="StageOptions.Name"/> (when set) to a stage an operator just built.</summary>
    private static Flow<T> NamedBy<T>(Flow<T> stage, StageOptions options) => options.Name is { } name ? stage.WithStageName(name) : stage;

    /// <summary>Names the whole flow: the <c>flowkit.flow</c> tag of every stage's metrics and the name in dead-letter failures. Stages added
    /// after this call keep the name.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow.</param>
    /// <param name="name">A non-blank name.</param>
    /// <returns>The same flow, named.</returns>
    public static Flow<T> WithFlowName<T>(this Flow<T> flow, string name)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return flow.WithFlowNameCore(name);
    }
}
