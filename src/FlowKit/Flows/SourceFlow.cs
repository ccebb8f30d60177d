using FlowKit.Flows;

namespace FlowKit;

/// <summary>A flow's source: one task that pumps items into the first emitter and completes it at the end.</summary>
internal abstract class SourceFlow<T>(string kind) : Flow<T>(kind, (IFlowNode?)null)
{
    internal override IReadOnlyList<IFlowNode> Inputs => [];

    internal override void Materialize(FlowRun run, Emitter<T> downstream)
    {
        var stage = run.Stage(this, StageOptions.Default);
        run.AddSegment(ct => PumpAsync(stage, downstream, ct));
    }

    /// <summary>Emits every item into <paramref name="downstream"/>, then completes it. Wraps failures of the source itself (not of
    /// downstream stages) in <see cref="FlowStageException"/>.</summary>
    protected abstract Task PumpAsync(StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken);

    protected static FlowStageException SourceFailed(StageContext stage, Exception error) => new(stage.Name, null, error);
}
