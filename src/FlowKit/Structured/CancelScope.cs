using System.Diagnostics;

using FlowKit.Internal;

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
    private readonly CancellationToken _token;
    private readonly CancellationToken _outer;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private CancellationTokenRegistration _outerRegistration;
    private ITimer? _timer;
    private DateTimeOffset _deadline = DateTimeOffset.MaxValue;

    // The deadline on the clock's monotonic timestamps (long.MaxValue: never): a wall-clock step does not move it, and the timer is only a
    // wake-up that re-arms when it fires before this instant.
    private long _deadlineAt = long.MaxValue;
    private bool _attached;
    private bool _shield;
    private bool _cancelCalled;
    private bool _deadlineReached;
    private bool _disposed;

    /// <summary>Creates a scope inside <paramref name="outerToken"/>: cancelling the outer token cancels the scope unless it is shielded.
    /// The outer token is looked at when the scope is first used (<see cref="RunAsync"/>, <see cref="Token"/>,
    /// <see cref="IsCancellationRequested"/>), so options set in an object initializer, such as <see cref="Shield"/>, are already in force:
    /// a shielded scope created inside an already-cancelled token runs its body uncancelled.</summary>
    /// <param name="outerToken">The enclosing cancellation; an outer cancel reaches inside.</param>
    /// <param name="timeProvider">The clock for <see cref="Deadline"/>; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    public CancelScope(CancellationToken outerToken = default, TimeProvider? timeProvider = null)
    {
        _outer = outerToken;
        _time = timeProvider ?? TimeProvider.System;
        _token = _cts.Token;
    }

    /// <summary>The token the body observes; cancelled by <see cref="Cancel"/>, by the deadline, or by the outer token when not shielded.</summary>
    public CancellationToken Token
    {
        get
        {
            Attach();
            return _token;
        }
    }

    /// <summary>True once the scope's token is cancelled (level-triggered: it stays cancelled).</summary>
    public bool IsCancellationRequested
    {
        get
        {
            Attach();
            return _token.IsCancellationRequested;
        }
    }

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
    /// It can be moved at any time; a deadline in the past cancels at once. The scope never cancels before the deadline: when it is set, the
    /// deadline is turned into an instant on the clock's monotonic timestamps (<see cref="TimeProvider.GetTimestamp"/>), so a later step
    /// of the wall clock does not move it. A deadline any distance ahead works (a timer is armed in steps of at most 40 days).
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
                // The wall clock first, then the timestamp: the instant can only come out later than the caller's reading, never earlier.
                var ahead = value - _time.GetUtcNow();
                var now = _time.GetTimestamp();
                _deadlineAt = value == DateTimeOffset.MaxValue ? long.MaxValue : TimerDue.TimestampAfter(_time, now, ahead);
                reached = ArmTimer(now);
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

            if (!value && _outer.IsCancellationRequested && Volatile.Read(ref _attached))
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
    /// <param name="delay">Time from now; zero or negative cancels at once; <see cref="Timeout.InfiniteTimeSpan"/> or <see cref="TimeSpan.MaxValue"/> means never.</param>
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
        Attach();
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
        Attach();
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

    /// <summary>Stops the deadline timer, detaches from the outer token and releases the scope's cancellation source. <see cref="Token"/>
    /// stays in whatever state it reached (a token taken earlier goes on reporting that state); <see cref="Cancel"/> then does nothing.</summary>
    public void Dispose()
    {
        ITimer? timer;
        CancellationTokenRegistration registration;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            timer = _timer;
            _timer = null;
            registration = _outerRegistration;
            _outerRegistration = default;
        }

        timer?.Dispose();
        registration.Dispose();
        _cts.Dispose();
    }

    // Registers on the outer token the first time the scope is used, so initializer options (Shield) are in force when it fires.
    private void Attach()
    {
        if (Volatile.Read(ref _attached))
        {
            return;
        }

        lock (_gate)
        {
            if (_attached)
            {
                return;
            }

            _attached = true;
            if (_disposed || !_outer.CanBeCanceled)
            {
                return;
            }
        }

        // Outside the lock: on an already-cancelled outer token the callback runs here, synchronously.
        var registration = _outer.UnsafeRegister(static s => ((CancelScope)s!).OnOuterCancelled(), this);
        var disposeNow = false;
        lock (_gate)
        {
            if (_disposed)
            {
                disposeNow = true;
            }
            else
            {
                _outerRegistration = registration;
            }
        }

        if (disposeNow)
        {
            registration.Dispose();
        }
    }

    private bool OwnsCancellation()
    {
        if (!_token.IsCancellationRequested)
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
            if (_disposed || _deadlineReached || _deadlineAt == long.MaxValue)
            {
                return;
            }

            // A timer is only a wake-up: one that fires before the instant (the system timer may, by up to a millisecond), a step of a
            // long wait, or a deadline moved later while it was firing, re-arms for the rest.
            if (!ArmTimer(_time.GetTimestamp()))
            {
                return;
            }

            _deadlineReached = true;
        }

        CancelToken();
    }

    // Called under _gate. Returns true when the deadline has already passed (the timer is then disarmed).
    private bool ArmTimer(long now)
    {
        var remaining = TimerDue.Remaining(_time, now, _deadlineAt);
        if (remaining == TimeSpan.MaxValue || remaining <= TimeSpan.Zero)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return remaining != TimeSpan.MaxValue;
        }

        var due = TimerDue.For(_time, remaining);
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
