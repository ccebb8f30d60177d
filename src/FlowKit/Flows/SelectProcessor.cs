namespace FlowKit.Flows;

/// <summary>Runs an async selector on one item with the stage's metrics and error policy; stays synchronous when the selector does.</summary>
internal sealed class SelectProcessor<T, TResult>(StageContext stage, Func<T, CancellationToken, ValueTask<TResult>> selector) : IItemProcessor<T, TResult>
{
    public ValueTask<(bool Ok, TResult Value)> ProcessAsync(T item, CancellationToken cancellationToken)
    {
        stage.CountIn();
        var started = stage.StartTiming();
        ValueTask<TResult> pending;
        try
        {
            pending = selector(item, cancellationToken);
        }
        catch (Exception ex)
        {
            return RecoverAsync(item, ex, cancellationToken);
        }

        if (pending.IsCompletedSuccessfully)
        {
            stage.StopTiming(started);
            stage.CountOut();
            return new((true, pending.Result));
        }

        return AwaitAsync(item, pending, started, cancellationToken);
    }

    private async ValueTask<(bool Ok, TResult Value)> AwaitAsync(T item, ValueTask<TResult> pending, long started, CancellationToken cancellationToken)
    {
        TResult result;
        try
        {
            result = await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return await RecoverAsync(item, ex, cancellationToken).ConfigureAwait(false);
        }

        stage.StopTiming(started);
        stage.CountOut();
        return (true, result);
    }

    private async ValueTask<(bool Ok, TResult Value)> RecoverAsync(T item, Exception error, CancellationToken cancellationToken)
    {
        var outcome = await stage.RecoverAsync(item, error, selector, cancellationToken).ConfigureAwait(false);
        if (outcome.Ok)
        {
            stage.CountOut();
        }

        return outcome;
    }
}
