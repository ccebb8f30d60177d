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

    private readonly TaskCompletionSource<T> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state;

    internal StartStatus()
    {
    }

    /// <summary>True once <see cref="Started(T)"/> has been called.</summary>
    public bool HasStarted => Volatile.Read(ref _state) == StartedState;

    internal Task<T> Task => _started.Task;

    internal CancellationTokenSource? OnStartedOrFinished { get; set; }

    internal CancellationTokenRegistration CallerRegistration { get; set; }

    /// <summary>Reports that the child is ready and hands <paramref name="value"/> to the <c>StartAsync</c> caller.</summary>
    /// <param name="value">The value <see cref="Nursery.StartAsync{T}"/> returns.</param>
    /// <exception cref="InvalidOperationException"><c>Started</c> was already called.</exception>
    public void Started(T value)
    {
        if (Interlocked.CompareExchange(ref _state, StartedState, NotStarted) != NotStarted)
        {
            throw new InvalidOperationException("StartStatus.Started was already called for this child.");
        }

        // From now on only the nursery cancels the child; the caller's token no longer applies.
        CallerRegistration.Unregister();
        _started.SetResult(value);
    }

    internal void CancelBeforeStart()
    {
        if (Volatile.Read(ref _state) == NotStarted)
        {
            OnStartedOrFinished?.Cancel();
        }
    }

    internal bool TryFinishBeforeStart(Task task)
    {
        if (Interlocked.CompareExchange(ref _state, FinishedBeforeStart, NotStarted) != NotStarted)
        {
            return false;
        }

        if (task.IsCompletedSuccessfully)
        {
            _started.SetException(new InvalidOperationException(
                "The child passed to Nursery.StartAsync returned without calling status.Started(...)."));
        }
        else if (task.IsCanceled)
        {
            _started.SetCanceled();
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
