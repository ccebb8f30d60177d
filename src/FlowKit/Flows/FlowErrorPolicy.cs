namespace FlowKit;

/// <summary>
/// What a stage does when processing an item throws: fail the flow (the default), skip the item, retry it with backoff and then fall back
/// to another policy, or hand it to a dead-letter sink and go on.
/// </summary>
/// <example>
/// <code>
/// var onError = FlowErrorPolicy.Retry(3, TimeSpan.FromMilliseconds(100), then: FlowErrorPolicy.DeadLetter((failure, ct) => LogAsync(failure, ct)));
/// </code>
/// </example>
public sealed class FlowErrorPolicy
{
    private FlowErrorPolicy(FlowErrorAction action)
    {
        Action = action;
    }

    /// <summary>Fails the whole flow with a <see cref="FlowStageException"/> naming the stage and carrying the item.</summary>
    public static FlowErrorPolicy Fail { get; } = new(FlowErrorAction.Fail);

    /// <summary>Drops the failed item (counted in the stage's failed metric) and goes on.</summary>
    public static FlowErrorPolicy Skip { get; } = new(FlowErrorAction.Skip);

    /// <summary>What this policy does.</summary>
    public FlowErrorAction Action { get; }

    /// <summary>How many times <see cref="FlowErrorAction.Retry"/> runs the item again.</summary>
    public int MaxRetries { get; private init; }

    /// <summary>The delay before the first retry; each later retry waits <see cref="BackoffFactor"/> times longer.</summary>
    public TimeSpan InitialDelay { get; private init; }

    /// <summary>The factor by which the retry delay grows.</summary>
    public double BackoffFactor { get; private init; } = 1;

    /// <summary>What <see cref="FlowErrorAction.Retry"/> does once the retries are used up.</summary>
    public FlowErrorPolicy? Then { get; private init; }

    internal Func<FlowFailure, CancellationToken, ValueTask>? DeadLetterSink { get; private init; }

    /// <summary>Retries a failed item up to <paramref name="maxRetries"/> times, waiting <paramref name="initialDelay"/> and then
    /// <paramref name="backoffFactor"/> times longer each time (on the stage's <see cref="StageOptions.TimeProvider"/>), then applies <paramref name="then"/>.</summary>
    /// <param name="maxRetries">Retries after the first failure: 1 to 1000.</param>
    /// <param name="initialDelay">The first wait: zero to one day.</param>
    /// <param name="backoffFactor">The growth of the wait: 1 to 100.</param>
    /// <param name="then">The policy once retries are exhausted: <see cref="Fail"/> (when null), <see cref="Skip"/> or a dead letter.</param>
    /// <returns>The policy.</returns>
    public static FlowErrorPolicy Retry(int maxRetries, TimeSpan initialDelay, double backoffFactor = 2, FlowErrorPolicy? then = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRetries, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRetries, 1000);
        ArgumentOutOfRangeException.ThrowIfLessThan(initialDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(initialDelay, TimeSpan.FromDays(1));
        if (!(backoffFactor >= 1 && backoffFactor <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "backoffFactor must be between 1 and 100.");
        }

        if (then is { Action: FlowErrorAction.Retry })
        {
            throw new ArgumentException("then must be Fail, Skip or DeadLetter, not another Retry.", nameof(then));
        }

        return new FlowErrorPolicy(FlowErrorAction.Retry)
        {
            MaxRetries = maxRetries,
            InitialDelay = initialDelay,
            BackoffFactor = backoffFactor,
            Then = then ?? Fail,
        };
    }

    /// <summary>Hands each failed item with its exception to <paramref name="sink"/> and goes on; if the sink throws, the flow fails.</summary>
    /// <param name="sink">Receives the failure; it runs inside the stage, so a slow sink slows the stage.</param>
    /// <returns>The policy.</returns>
    public static FlowErrorPolicy DeadLetter(Func<FlowFailure, CancellationToken, ValueTask> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return new FlowErrorPolicy(FlowErrorAction.DeadLetter) { DeadLetterSink = sink };
    }

    internal TimeSpan DelayBeforeRetry(int retry)
    {
        var ticks = InitialDelay.Ticks * Math.Pow(BackoffFactor, retry - 1);
        return ticks >= TimeSpan.FromDays(1).Ticks ? TimeSpan.FromDays(1) : TimeSpan.FromTicks((long)ticks);
    }

    /// <inheritdoc/>
    public override string ToString() => Action switch
    {
        FlowErrorAction.Retry => $"Retry({MaxRetries}, {InitialDelay}, x{BackoffFactor}) then {Then}",
        _ => Action.ToString(),
    };
}
