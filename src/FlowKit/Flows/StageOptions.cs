namespace FlowKit;

/// <summary>
/// How one flow stage runs: how many items it processes at once, how many it may buffer in front of itself, whether it keeps input order,
/// its clock and what it does when an item fails. Validated and copied when the stage is added, so later changes have no effect on it.
/// </summary>
/// <example>
/// <code>
/// flow.Select(LookupAsync, new StageOptions { Parallelism = 4, Capacity = 256, Ordered = false, OnError = FlowErrorPolicy.Skip });
/// </code>
/// </example>
public sealed class StageOptions
{
    /// <summary>The buffer given to a stage that needs one (async, parallel or timed stages) when <see cref="Capacity"/> is not set.</summary>
    public const int DefaultCapacity = 128;

    /// <summary>Creates options with the defaults.</summary>
    public StageOptions()
    {
    }

    private StageOptions(StageOptions other)
    {
        Parallelism = other.Parallelism;
        Capacity = other.Capacity;
        Ordered = other.Ordered;
        TimeProvider = other.TimeProvider;
        OnError = other.OnError;
        Name = other.Name;
    }

    /// <summary>How many items the stage processes at the same time.</summary>
    /// <value>The default value is 1. Allowed: 1 to 1024.</value>
    public int Parallelism { get; set; } = 1;

    /// <summary>
    /// The bounded buffer in front of the stage. When null, a synchronous stage with <see cref="Parallelism"/> 1 is fused into its upstream
    /// (no buffer, no task hop) and any other stage gets <see cref="DefaultCapacity"/>.
    /// </summary>
    /// <value>The default value is null. Allowed: 1 to 1,048,576.</value>
    public int? Capacity { get; set; }

    /// <summary>Whether a parallel stage emits results in input order (true) or as they complete (false).</summary>
    /// <value>The default value is true.</value>
    public bool Ordered { get; set; } = true;

    /// <summary>The clock for retry backoff and timed stages; null means <see cref="System.TimeProvider.System"/>.</summary>
    /// <value>The default value is null.</value>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>What the stage does when processing an item throws.</summary>
    /// <value>The default value is <see cref="FlowErrorPolicy.Fail"/>.</value>
    public FlowErrorPolicy OnError { get; set; } = FlowErrorPolicy.Fail;

    /// <summary>The stage's name in errors, metrics and <see cref="Flow{T}.Describe"/>; null keeps the default (operator and position).</summary>
    /// <value>The default value is null.</value>
    public string? Name { get; set; }

    internal static StageOptions Default { get; } = new();

    /// <summary>Validates <paramref name="options"/> (null means the defaults) and returns a private copy.</summary>
    internal static StageOptions ValidatedCopy(StageOptions? options, string argumentName = "options")
    {
        if (options is null)
        {
            return Default;
        }

        if (options.Parallelism is < 1 or > 1024)
        {
            throw new ArgumentOutOfRangeException(argumentName, options.Parallelism, $"{argumentName}.Parallelism must be between 1 and 1024.");
        }

        if (options.Capacity is < 1 or > 1 << 20)
        {
            throw new ArgumentOutOfRangeException(argumentName, options.Capacity, $"{argumentName}.Capacity must be null or between 1 and 1,048,576.");
        }

        if (options.OnError is null)
        {
            throw new ArgumentNullException(argumentName, $"{argumentName}.OnError must not be null.");
        }

        if (options.Name is { } name && string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException($"{argumentName}.Name must be null or a non-blank name.", argumentName);
        }

        return new StageOptions(options);
    }

    /// <summary>Whether a synchronous stage with these options can be fused into its upstream.</summary>
    internal bool CanFuse => Parallelism == 1 && Capacity is null;

    internal int EffectiveCapacity => Capacity ?? DefaultCapacity;

    internal TimeProvider Time => TimeProvider ?? System.TimeProvider.System;
}
