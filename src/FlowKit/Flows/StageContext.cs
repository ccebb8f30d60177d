using System.Diagnostics;

namespace FlowKit.Flows;

/// <summary>
/// A stage's per-run state shared by every operator: its name, error policy, clock and metric tags, plus the error recovery that applies
/// <see cref="StageOptions.OnError"/>.
/// </summary>
internal sealed class StageContext
{
    private readonly KeyValuePair<string, object?>[] _tags;
    private int _untilMetricsCheck;
    private bool _metricsOn;

    public StageContext(FlowRun run, string name, StageOptions options)
    {
        Run = run;
        Name = name;
        Options = options;
        Policy = options.OnError;
        Time = options.Time;
        _tags = [new(FlowMetrics.FlowTag, run.FlowName), new(FlowMetrics.StageTag, name)];
    }

    public FlowRun Run { get; }

    public string Name { get; }

    public StageOptions Options { get; }

    public FlowErrorPolicy Policy { get; }

    public TimeProvider Time { get; }

    /// <summary>
    /// Whether any per-item instrument (items in and out, processing time) has a listener, looked up on the first call and then once every
    /// 256 calls: a chain of fused stages pays one branch per item per stage while nobody listens, and a listener that attaches mid-run
    /// sees the stage's counts within 256 items. For single-threaded callers only (fused stages, sources): the countdown is a plain field.
    /// </summary>
    public bool MetricsOn
    {
        get
        {
            if (--_untilMetricsCheck < 0)
            {
                _untilMetricsCheck = 255;
                _metricsOn = FlowMetrics.ItemsIn.Enabled || FlowMetrics.ItemsOut.Enabled || FlowMetrics.ProcessingTime.Enabled;
            }

            return _metricsOn;
        }
    }

    public void CountIn()
    {
        if (FlowMetrics.ItemsIn.Enabled)
        {
            FlowMetrics.ItemsIn.Add(1, _tags);
        }
    }

    public void CountOut()
    {
        if (FlowMetrics.ItemsOut.Enabled)
        {
            FlowMetrics.ItemsOut.Add(1, _tags);
        }
    }

    public void CountOut(int count)
    {
        if (FlowMetrics.ItemsOut.Enabled)
        {
            FlowMetrics.ItemsOut.Add(count, _tags);
        }
    }

    public void CountFailed()
    {
        if (FlowMetrics.ItemsFailed.Enabled)
        {
            FlowMetrics.ItemsFailed.Add(1, _tags);
        }
    }

    public void CountDropped()
    {
        if (FlowMetrics.ItemsDropped.Enabled)
        {
            FlowMetrics.ItemsDropped.Add(1, _tags);
        }
    }

    /// <summary>A timestamp to pass to <see cref="StopTiming"/>, or 0 when nobody listens to processing time.</summary>
    public long StartTiming() => FlowMetrics.ProcessingTime.Enabled ? Stopwatch.GetTimestamp() : 0;

    public void StopTiming(long started)
    {
        if (started != 0)
        {
            FlowMetrics.ProcessingTime.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, _tags);
        }
    }

    /// <summary>Whether <paramref name="error"/> is the run stopping rather than the item failing.</summary>
    public static bool IsStopping(Exception error, CancellationToken cancellationToken) =>
        error is OperationCanceledException && cancellationToken.IsCancellationRequested;

    /// <summary>
    /// Applies the stage's error policy to <paramref name="item"/>, which failed with <paramref name="error"/>: returns (true, value) when a
    /// retry succeeded, (false, default) when the item is skipped or dead-lettered, and throws <see cref="FlowStageException"/> to fail the flow.
    /// </summary>
    public async ValueTask<(bool Ok, TResult Value)> RecoverAsync<TItem, TResult>(
        TItem item, Exception error, Func<TItem, CancellationToken, ValueTask<TResult>> retry, CancellationToken cancellationToken)
    {
        var policy = Policy;
        var attempts = 1;
        var retries = 0;
        if (IsStopping(error, cancellationToken))
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }

        CountFailed();
        while (true)
        {
            switch (policy.Action)
            {
                case FlowErrorAction.Skip:
                    return (false, default!);
                case FlowErrorAction.DeadLetter:
                    await policy.DeadLetterSink!(new FlowFailure(Run.FlowName, Name, item, error, attempts), cancellationToken).ConfigureAwait(false);
                    return (false, default!);
                case FlowErrorAction.Retry when retries < policy.MaxRetries:
                    retries++;
                    var delay = policy.DelayBeforeRetry(retries);
                    if (delay > TimeSpan.Zero)
                    {
                        await Task.Delay(delay, Time, cancellationToken).ConfigureAwait(false);
                    }

                    attempts++;
                    try
                    {
                        return (true, await retry(item, cancellationToken).ConfigureAwait(false));
                    }
                    catch (Exception again) when (!IsStopping(again, cancellationToken))
                    {
                        error = again;
                        CountFailed();
                    }

                    break;
                case FlowErrorAction.Retry:
                    policy = policy.Then!;
                    break;
                default:
                    throw new FlowStageException(Name, item, error);
            }
        }
    }
}
