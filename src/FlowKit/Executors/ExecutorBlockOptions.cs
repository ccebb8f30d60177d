namespace FlowKit;

/// <summary>Shape of the Dataflow block returned by an executor's <c>AsBlock</c>. Validated when used.</summary>
public sealed class ExecutorBlockOptions
{
    internal static readonly ExecutorBlockOptions Default = new();

    /// <summary>The block's bounded capacity (messages buffered in and out); 0 chooses 2 × the executor's parallelism.</summary>
    /// <value>The default value is 0 (automatic).</value>
    public int Capacity { get; init; }

    /// <summary>True: outputs leave in input order; false: as they complete.</summary>
    /// <value>The default value is true.</value>
    public bool Ordered { get; init; } = true;

    internal void Validate()
    {
        if (Capacity is < 0 or > ExecutorMapOptions.MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(Capacity), Capacity, $"Capacity must be between 0 (automatic) and {ExecutorMapOptions.MaxLimit}.");
        }
    }
}
