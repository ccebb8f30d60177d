namespace FlowKit.Flows;

/// <summary>What a buffered stage does with one item: (true, result) to emit it, (false, _) to drop it (filtered, skipped or dead-lettered).
/// Applies the stage's error policy itself; throws only to fail the flow.</summary>
internal interface IItemProcessor<in T, TResult>
{
    ValueTask<(bool Ok, TResult Value)> ProcessAsync(T item, CancellationToken cancellationToken);
}

/// <summary>The step of a stage that only moves items (<c>Flow.Buffer</c>): every item passes, synchronously.</summary>
internal sealed class PassThrough<T> : IItemProcessor<T, T>
{
    public static readonly PassThrough<T> Instance = new();

    public ValueTask<(bool Ok, T Value)> ProcessAsync(T item, CancellationToken cancellationToken) => new((true, item));
}
