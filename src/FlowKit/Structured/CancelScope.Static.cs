namespace FlowKit;

public sealed partial class CancelScope
{
    /// <summary>
    /// Runs <paramref name="body"/> and cancels it if it takes longer than <paramref name="timeout"/> (Trio's <c>move_on_after</c>).
    /// </summary>
    /// <param name="timeout">How long the body may run; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="body">The work; it must observe the token it receives.</param>
    /// <param name="cancellationToken">The caller's token; cancelling it propagates as <see cref="OperationCanceledException"/>.</param>
    /// <param name="time">The clock; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    /// <returns><see langword="true"/> when the body completed; <see langword="false"/> when the timeout cancelled it (no exception).</returns>
    /// <example><code>bool done = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), ct => PingAsync(ct));</code></example>
    public static Task<bool> MoveOnAfterAsync(TimeSpan timeout, Func<CancellationToken, Task> body, CancellationToken cancellationToken = default, TimeProvider? time = null)
    {
        ValidateTimeout(timeout);
        ArgumentNullException.ThrowIfNull(body);
        var clock = time ?? TimeProvider.System;
        return MoveOnAtAsync(Add(clock.GetUtcNow(), timeout), body, cancellationToken, clock);
    }

    /// <summary>Runs <paramref name="body"/> and cancels it at <paramref name="deadline"/> (Trio's <c>move_on_at</c>).</summary>
    /// <param name="deadline">The absolute time on <paramref name="time"/>'s clock.</param>
    /// <param name="body">The work; it must observe the token it receives.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <param name="time">The clock; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    /// <returns><see langword="true"/> when the body completed; <see langword="false"/> when the deadline cancelled it.</returns>
    public static Task<bool> MoveOnAtAsync(DateTimeOffset deadline, Func<CancellationToken, Task> body, CancellationToken cancellationToken = default, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return MoveOnAtCoreAsync(deadline, body, cancellationToken, time);
    }

    private static async Task<bool> MoveOnAtCoreAsync(DateTimeOffset deadline, Func<CancellationToken, Task> body, CancellationToken cancellationToken, TimeProvider? time)
    {
        using var scope = new CancelScope(cancellationToken, time) { Deadline = deadline };
        await scope.RunAsync(body).ConfigureAwait(false);
        return !scope.CancelledCaught;
    }

    /// <summary>
    /// Runs <paramref name="body"/> and throws <see cref="TimeoutException"/> if it takes longer than <paramref name="timeout"/> (Trio's <c>fail_after</c>).
    /// </summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="timeout">How long the body may run; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="body">The work; it must observe the token it receives.</param>
    /// <param name="cancellationToken">The caller's token; cancelling it propagates as <see cref="OperationCanceledException"/>, not as a timeout.</param>
    /// <param name="time">The clock; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    /// <returns>The body's result.</returns>
    /// <exception cref="TimeoutException">The timeout cancelled the body.</exception>
    /// <example><code>var page = await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(10), ct => http.GetStringAsync(url, ct));</code></example>
    public static Task<T> FailAfterAsync<T>(TimeSpan timeout, Func<CancellationToken, Task<T>> body, CancellationToken cancellationToken = default, TimeProvider? time = null)
    {
        ValidateTimeout(timeout);
        ArgumentNullException.ThrowIfNull(body);
        var clock = time ?? TimeProvider.System;
        return FailAtAsync(Add(clock.GetUtcNow(), timeout), body, cancellationToken, clock);
    }

    /// <summary>Runs <paramref name="body"/> and throws <see cref="TimeoutException"/> if it takes longer than <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long the body may run.</param>
    /// <param name="body">The work; it must observe the token it receives.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <param name="time">The clock; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    /// <returns>A task that completes when the body has.</returns>
    /// <exception cref="TimeoutException">The timeout cancelled the body.</exception>
    public static Task FailAfterAsync(TimeSpan timeout, Func<CancellationToken, Task> body, CancellationToken cancellationToken = default, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return FailAfterAsync(timeout, async ct =>
        {
            await body(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken, time);
    }

    /// <summary>Runs <paramref name="body"/> and throws <see cref="TimeoutException"/> if it is still running at <paramref name="deadline"/> (Trio's <c>fail_at</c>).</summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="deadline">The absolute time on <paramref name="time"/>'s clock.</param>
    /// <param name="body">The work; it must observe the token it receives.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <param name="time">The clock; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    /// <returns>The body's result.</returns>
    /// <exception cref="TimeoutException">The deadline cancelled the body.</exception>
    public static Task<T> FailAtAsync<T>(DateTimeOffset deadline, Func<CancellationToken, Task<T>> body, CancellationToken cancellationToken = default, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return FailAtCoreAsync(deadline, body, cancellationToken, time);
    }

    private static async Task<T> FailAtCoreAsync<T>(DateTimeOffset deadline, Func<CancellationToken, Task<T>> body, CancellationToken cancellationToken, TimeProvider? time)
    {
        using var scope = new CancelScope(cancellationToken, time) { Deadline = deadline };
        var result = await scope.RunAsync<T>(body, default!).ConfigureAwait(false);
        if (scope.CancelledCaught)
        {
            throw new TimeoutException($"The operation did not complete before its deadline ({deadline:O}).");
        }

        return result;
    }

    private static void ValidateTimeout(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }
    }
}
