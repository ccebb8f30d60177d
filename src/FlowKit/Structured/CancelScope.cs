using System.Diagnostics;

namespace FlowKit;

/// <summary>
/// Trio's cancel scope: a cancellable region with an optional deadline and an optional shield. Cancelling it (by
/// <see cref="Cancel"/>, by its deadline, or by the outer token unless shielded) cancels <see cref="Token"/>; <see cref="RunAsync"/>
/// absorbs the cancellation the scope itself caused and lets the outer one propagate.
/// </summary>
/// <example>
/// <code>
/// using var scope = new CancelScope(ct) { Deadline = time.GetUtcNow() + TimeSpan.FromSeconds(5) };
/// await scope.RunAsync(token => PollAsync(token));
/// if (scope.CancelledCaught) Console.WriteLine("gave up after 5 s");
/// </code>
/// </example>
[DebuggerDisplay("Deadline = {Deadline}, Shield = {Shield}, Cancelled = {IsCancellationRequested}")]
public sealed partial class CancelScope : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationToken _outer;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private CancellationTokenRegistration _outerRegistration;
    private ITimer? _timer;
    private DateTimeOffset _deadline = DateTimeOffset.MaxValue;
    private bool _shield;
    private bool _cancelCalled;
    private bool _deadlineReached;
    private bool _disposed;

    /// <summary>Creates a scope inside <paramref name="outerToken"/>: cancelling the outer token cancels the scope unless it is shielded.</summary>
    /// <param name="outerToken">The enclosing cancellation; an outer cancel reaches inside.</param>
    /// <param name="timeProvider">The clock for <see cref="Deadline"/>; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    public CancelScope(CancellationToken outerToken = default, TimeProvider? timeProvider = null)
    {
        _outer = outerToken;
        _time = timeProvider ?? TimeProvider.System;
        if (outerToken.CanBeCanceled)
        {
            _outerRegistration = outerToken.UnsafeRegister(static s => ((CancelScope)s!).OnOuterCancelled(), this);
        }
    }

    /// <summary>The token the body observes; cancelled by <see cref="Cancel"/>, by the deadline, or by the outer token when not shielded.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>True once the scope's token is cancelled (level-triggered: it stays cancelled).</summary>
    public bool IsCancellationRequested => _cts.IsCancellationRequested;

    /// <summary>True once <see cref="Cancel"/> was called or the deadline passed (Trio's <c>cancel_called</c>).</summary>
    public bool CancelCalled
    {
        get
        {
            lock (_gate)
            {
                return _cancelCalled || _deadlineReached;
            }
        }
    }

    /// <summary>True when <see cref="RunAsync"/> absorbed a cancellation this scope caused (Trio's <c>cancelled_caught</c>).</summary>
    public bool CancelledCaught { get; private set; }

    /// <summary>True when the scope's own deadline (not <see cref="Cancel"/> or the outer token) cancelled it.</summary>
    public bool DeadlineReached
    {
        get
        {
            lock (_gate)
            {
                return _deadlineReached;
            }
        }
    }

    /// <summary>
    /// The absolute time at which the scope cancels itself; <see cref="DateTimeOffset.MaxValue"/> (the default) means never.
    /// It can be moved at any time; a deadline in the past cancels at once.
    /// </summary>
    /// <value>The default value is <see cref="DateTimeOffset.MaxValue"/>.</value>
    public DateTimeOffset Deadline
    {
        get
        {
            lock (_gate)
            {
                return _deadline;
            }
        }

        set
        {
            bool reached;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _deadline = value;
                reached = ArmTimer();
            }

            if (reached)
            {
                OnDeadline();
            }
        }
    }

    /// <summary>
    /// When true, cancellation of the outer token does not reach <see cref="Token"/> (for clean-up that must finish). Turning the shield
    /// off while the outer token is cancelled cancels the scope at once.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool Shield
    {
        get
        {
            lock (_gate)
            {
                return _shield;
            }
        }

        set
        {
            lock (_gate)
            {
                _shield = value;
            }

            if (!value && _outer.IsCancellationRequested)
            {
                CancelToken();
            }
        }
    }

    /// <summary>Cancels the scope. Idempotent.</summary>
    public void Cancel()
    {
        lock (_gate)
        {
            _cancelCalled = true;
        }

        CancelToken();
    }

    /// <summary>Cancels the scope after <paramref name="delay"/> from now, on the scope's clock (moves <see cref="Deadline"/>).</summary>
    /// <param name="delay">Time from now; zero or negative cancels at once.</param>
    public void CancelAfter(TimeSpan delay) => Deadline = Add(_time.GetUtcNow(), delay);

    /// <summary>
    /// Runs <paramref name="body"/> with the scope's token. A cancellation the scope caused (its <see cref="Cancel"/> or deadline) is absorbed
    /// and sets <see cref="CancelledCaught"/>; an outer cancellation propagates as <see cref="OperationCanceledException"/> carrying the outer token.
    /// </summary>
    /// <param name="body">The work to run inside the scope.</param>
    /// <returns>A task that completes when the body has finished or its cancellation was absorbed.</returns>
    public Task RunAsync(Func<CancellationToken, Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return RunCoreAsync(body);
    }

    private async Task RunCoreAsync(Func<CancellationToken, Task> body)
    {
        try
        {
            await body(Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (OwnsCancellation())
        {
            CancelledCaught = true;
        }
        catch (OperationCanceledException) when (_outer.IsCancellationRequested)
        {
            // The caller's token wins, and its exception carries that token.
            throw new OperationCanceledException(_outer);
        }
    }

    /// <summary>Runs <paramref name="body"/> like <see cref="RunAsync"/> and returns its result, or <paramref name="cancelledResult"/> when the scope's own cancellation stopped it.</summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="body">The work to run inside the scope.</param>
    /// <param name="cancelledResult">The value to return when the scope absorbed its own cancellation.</param>
    /// <returns>The body's result, or <paramref name="cancelledResult"/>.</returns>
    public Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> body, T cancelledResult = default!)
    {
        ArgumentNullException.ThrowIfNull(body);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return RunCoreAsync(body, cancelledResult);
    }

    private async Task<T> RunCoreAsync<T>(Func<CancellationToken, Task<T>> body, T cancelledResult)
    {
        try
        {
            return await body(Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (OwnsCancellation())
        {
            CancelledCaught = true;
            return cancelledResult;
        }
        catch (OperationCanceledException) when (_outer.IsCancellationRequested)
        {
            throw new OperationCanceledException(_outer);
        }
    }

    /// <summary>Stops the deadline timer and detaches from the outer token. The token stays in whatever state it reached.</summary>
    public void Dispose()
    {
        ITimer? timer;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            timer = _timer;
            _timer = null;
        }

        timer?.Dispose();
        _outerRegistration.Dispose();
    }

    private bool OwnsCancellation()
    {
        if (!_cts.IsCancellationRequested)
        {
            return false;
        }

        lock (_gate)
        {
            var own = _cancelCalled || _deadlineReached;

            // When the outer token is cancelled too and reaches us, the outer scope wins (Trio: the outermost triggered scope catches).
            var outerReaches = _outer.IsCancellationRequested && !_shield;
            return own && !outerReaches;
        }
    }

    private void OnOuterCancelled()
    {
        bool shielded;
        lock (_gate)
        {
            shielded = _shield;
        }

        if (!shielded)
        {
            CancelToken();
        }
    }

    private void OnDeadline()
    {
        lock (_gate)
        {
            if (_deadline > _time.GetUtcNow())
            {
                // The deadline moved later while this timer was firing.
                return;
            }

            _deadlineReached = true;
        }

        CancelToken();
    }

    // Called under _gate. Returns true when the deadline has already passed.
    private bool ArmTimer()
    {
        if (_deadline == DateTimeOffset.MaxValue)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return false;
        }

        var due = _deadline - _time.GetUtcNow();
        if (due <= TimeSpan.Zero)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return true;
        }

        if (_timer is null)
        {
            _timer = _time.CreateTimer(static s => ((CancelScope)s!).OnDeadline(), this, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }

        return false;
    }

    private void CancelToken()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    internal static DateTimeOffset Add(DateTimeOffset now, TimeSpan delay)
    {
        if (delay == Timeout.InfiniteTimeSpan)
        {
            return DateTimeOffset.MaxValue;
        }

        return delay >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue : now + delay;
    }
}
