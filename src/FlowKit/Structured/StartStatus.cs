namespace FlowKit;

/// <summary>
/// Handed to a child started with <see cref="Nursery.StartAsync{T}"/>: the child calls <see cref="Started(T)"/> once it is ready
/// (Trio's <c>task_status.started</c>), which lets the <c>StartAsync</c> caller go on while the child keeps running.
/// </summary>
/// <typeparam name="T">The value reported to the caller, such as a bound port.</typeparam>
public sealed class StartStatus<T>
{
    private const int NotStarted = 0;
    private const int StartedState = 1;
    private const int FinishedBeforeStart = 2;

    // The StartAsync call was cancelled (its token) before Started: Started is then a no-op, and the child's outcome (its exception,
    // its cancellation, or the value it reported) goes to the StartAsync caller, not to the nursery.
    private const int Abandoned = 3;

    private readonly TaskCompletionSource<T> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private int _state;
    private bool _startedCalled;
    private T _value = default!;

    internal StartStatus()
    {
    }

    /// <summary>True once <see cref="Started(T)"/> has been called.</summary>
    public bool HasStarted
    {
        get
        {
            lock (_gate)
            {
                return _startedCalled;
            }
        }
    }

    internal Task<T> Task => _started.Task;

    internal CancellationTokenSource? OnStartedOrFinished { get; set; }

    internal CancellationToken CallerToken { get; set; }

    internal CancellationTokenRegistration CallerRegistration { get; set; }

    /// <summary>Reports that the child is ready and hands <paramref name="value"/> to the <c>StartAsync</c> caller. When the
    /// <c>StartAsync</c> call has already been cancelled (its token), this does nothing else (Trio's rule): the child goes on under the
    /// cancelled call, whose outcome it decides when it finishes.</summary>
    /// <param name="value">The value <see cref="Nursery.StartAsync{T}"/> returns.</param>
    /// <exception cref="InvalidOperationException"><c>Started</c> was already called.</exception>
    public void Started(T value)
    {
        lock (_gate)
        {
            if (_startedCalled || _state == FinishedBeforeStart)
            {
                throw new InvalidOperationException("StartStatus.Started was already called for this child.");
            }

            _startedCalled = true;
            _value = value;
            if (_state == Abandoned)
            {
                return;
            }

            // Decided under the lock: a cancellation of the caller's token from now on no longer reaches the child.
            _state = StartedState;
        }

        CallerRegistration.Unregister();
        _started.SetResult(value);
    }

    // The caller's token was cancelled. Before Started, this abandons the start and cancels the child; after it, nothing happens.
    internal void CancelBeforeStart()
    {
        lock (_gate)
        {
            if (_state != NotStarted)
            {
                return;
            }

            _state = Abandoned;
        }

        try
        {
            OnStartedOrFinished?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The child already finished.
        }
    }

    // Called once, when the child's task has completed. Returns false when the child had started: its outcome is the nursery's.
    internal bool TryFinishBeforeStart(Task task)
    {
        int state;
        bool startedCalled;
        T value;
        lock (_gate)
        {
            state = _state;
            startedCalled = _startedCalled;
            value = _value;
            if (state == StartedState)
            {
                return false;
            }

            _state = FinishedBeforeStart;
        }

        if (task.IsCompletedSuccessfully)
        {
            if (state == Abandoned && startedCalled)
            {
                // Trio: a child that reported its value and returned without a checkpoint completes the cancelled start normally.
                _started.SetResult(value);
            }
            else
            {
                _started.SetException(new InvalidOperationException(
                    "The child passed to Nursery.StartAsync returned without calling status.Started(...)."));
            }
        }
        else if (task.IsCanceled)
        {
            _started.SetCanceled(state == Abandoned ? CallerToken : default);
        }
        else
        {
            var errors = task.Exception!.InnerExceptions;
            if (errors.Count == 1)
            {
                _started.SetException(errors[0]);
            }
            else
            {
                _started.SetException(errors);
            }
        }

        return true;
    }
}

/// <summary>Handed to a child started with <see cref="Nursery.StartAsync(Func{StartStatus, CancellationToken, Task}, CancellationToken)"/>:
/// the child calls <see cref="Started()"/> once it is ready.</summary>
public readonly struct StartStatus
{
    private readonly StartStatus<bool> _inner;

    internal StartStatus(StartStatus<bool> inner) => _inner = inner;

    /// <summary>Reports that the child is ready; the <c>StartAsync</c> caller goes on.</summary>
    /// <exception cref="InvalidOperationException"><c>Started</c> was already called.</exception>
    public void Started() => _inner.Started(true);
}
