using System.Diagnostics;
using System.Runtime.ExceptionServices;

using FlowKit.Internal;

namespace FlowKit;

/// <summary>
/// Trio's nursery: a scope that owns the tasks started in it. <see cref="RunAsync(Func{Nursery, Task}, CancellationToken)"/>
/// returns only when the body and every child have finished; the first failure cancels everything else.
/// </summary>
/// <example>
/// <code>
/// await Nursery.RunAsync(async nursery =>
/// {
///     nursery.StartSoon(ct => DownloadAsync("a", ct));
///     nursery.StartSoon(ct => DownloadAsync("b", ct));
/// });   // returns when both downloads are done; if one fails, the other is cancelled
/// </code>
/// </example>
[DebuggerDisplay("Running = {_running}, Cancelled = {IsCancellationRequested}")]
public sealed partial class Nursery
{
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _token;
    private readonly CancellationToken _outer;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _errorsGate = new();
    private List<Exception>? _errors;
    private CancellationTokenRegistration _outerRegistration;

    // Body plus live children. Reaches 0 exactly once; from then on the nursery is closed.
    private int _running = 1;
    private int _started;
    private int _completed;

    private Nursery(CancellationToken outer)
    {
        _outer = outer;
        _cts = new CancellationTokenSource();
        _token = _cts.Token;
        if (outer.CanBeCanceled)
        {
            _outerRegistration = outer.UnsafeRegister(static s => ((Nursery)s!).CancelCore(), this);
        }
    }

    /// <summary>The token every child and the body receive; cancelled by a failure, by <see cref="Cancel"/>, or by the outer token. Once
    /// the nursery has finished, its cancellation source is released: the token keeps the state it reached.</summary>
    public CancellationToken CancellationToken => _token;

    /// <summary>True once the nursery has been cancelled, for whatever reason.</summary>
    public bool IsCancellationRequested => _cts.IsCancellationRequested;

    /// <summary>True once the body and every child have finished; <see cref="StartSoon"/> then throws.</summary>
    public bool IsClosed => Volatile.Read(ref _running) == 0;

    /// <summary>Cancels the body and every child. <see cref="RunAsync(Func{Nursery, Task}, CancellationToken)"/> then returns normally
    /// (like cancelling a Trio nursery's cancel scope), unless something failed.</summary>
    public void Cancel() => CancelCore();

    /// <summary>A snapshot of the nursery's counters.</summary>
    public NurseryStatistics GetStatistics()
    {
        var started = Volatile.Read(ref _started);
        var completed = Volatile.Read(ref _completed);
        return new(started - completed, started, completed, IsCancellationRequested, IsClosed);
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a new nursery and returns when the body and every child it started have finished.
    /// </summary>
    /// <param name="body">Starts children with <see cref="StartSoon"/> or <see cref="StartAsync{T}"/>.</param>
    /// <param name="cancellationToken">Cancels the body and every child; <c>RunAsync</c> then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when everything in the nursery has stopped.</returns>
    /// <exception cref="AggregateException">Several children (or the body and a child) failed; it holds every failure.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <example>
    /// <code>
    /// await Nursery.RunAsync(async n =>
    /// {
    ///     n.StartSoon(ct => Task.Delay(1000, ct));
    ///     n.StartSoon(ct => Task.Delay(2000, ct));
    /// }, cancellationToken);
    /// </code>
    /// </example>
    public static Task RunAsync(Func<Nursery, Task> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunCoreAsync(body, cancellationToken);
    }

    private static async Task RunCoreAsync(Func<Nursery, Task> body, CancellationToken cancellationToken)
    {
        var nursery = new Nursery(cancellationToken);
        nursery.RunBody(body);
        await nursery._drained.Task.ConfigureAwait(false);
        nursery.Finish();
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a new nursery, waits for every child, and returns the body's result.
    /// </summary>
    /// <param name="body">Starts children and computes the result.</param>
    /// <param name="cancellationToken">Cancels the body and every child; <c>RunAsync</c> then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The body's result, once every child has finished.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled, or <see cref="Cancel"/> stopped the body before it produced its result.</exception>
    public static Task<T> RunAsync<T>(Func<Nursery, Task<T>> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunCoreAsync(body, cancellationToken);
    }

    private static async Task<T> RunCoreAsync<T>(Func<Nursery, Task<T>> body, CancellationToken cancellationToken)
    {
        var nursery = new Nursery(cancellationToken);
        Task<T>? bodyTask = null;
        nursery.RunBody(n => bodyTask = body(n));
        await nursery._drained.Task.ConfigureAwait(false);
        nursery.Finish();
        if (bodyTask is { IsCompletedSuccessfully: true })
        {
            return bodyTask.Result;
        }

        // Cancel() stopped the body before it produced a value: there is no result to return.
        throw new OperationCanceledException("The nursery was cancelled before its body produced a result.", nursery.CancellationToken);
    }

    /// <summary>
    /// Starts <paramref name="child"/> in this nursery (Trio's <c>start_soon</c>). The child is queued, not run inline: it starts after
    /// the caller yields (on the current <see cref="SynchronizationContext"/> or <see cref="TaskScheduler"/> when there is one, else on the thread pool).
    /// </summary>
    /// <param name="child">The work; it receives the nursery's token.</param>
    /// <exception cref="InvalidOperationException">The nursery has closed (its body and every child have finished).</exception>
    public void StartSoon(Func<CancellationToken, Task> child)
    {
        ArgumentNullException.ThrowIfNull(child);
        Enter();
        ChildLauncher.Launch(new SoonChild(this, child));
    }

    /// <summary>
    /// Starts <paramref name="child"/> and waits until it calls <see cref="StartStatus{T}.Started(T)"/> (Trio's <c>start</c>); the child goes
    /// on running inside the nursery. A child that fails before <c>Started</c> makes this call throw its exception (and the nursery does not
    /// report it again); a child that returns without calling <c>Started</c> makes it throw <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <typeparam name="T">The value the child reports when it is ready, such as the port it listens on.</typeparam>
    /// <param name="child">The work; it receives the status to report readiness and the token to observe.</param>
    /// <param name="cancellationToken">Cancels the child while it has not started yet; after <c>Started</c> only the nursery cancels it.</param>
    /// <returns>The value passed to <see cref="StartStatus{T}.Started(T)"/>.</returns>
    /// <exception cref="InvalidOperationException">The nursery has closed, or the child returned without calling <c>Started</c>.</exception>
    public Task<T> StartAsync<T>(Func<StartStatus<T>, CancellationToken, Task> child, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(child);
        Enter();
        var status = new StartStatus<T>();
        var start = new StartingChild<T>(this, child, status, cancellationToken);
        ChildLauncher.Launch(start);
        return status.Task;
    }

    /// <summary>
    /// Starts <paramref name="child"/> and waits until it calls <see cref="StartStatus.Started()"/>, like <see cref="StartAsync{T}"/> without a value.
    /// </summary>
    /// <param name="child">The work; it receives the status to report readiness and the token to observe.</param>
    /// <param name="cancellationToken">Cancels the child while it has not started yet.</param>
    /// <returns>A task that completes when the child has started.</returns>
    public Task StartAsync(Func<StartStatus, CancellationToken, Task> child, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(child);
        return StartAsync<bool>((status, ct) => child(new StartStatus(status), ct), cancellationToken);
    }

    private void RunBody(Func<Nursery, Task> body)
    {
        Task task;
        try
        {
            task = body(this) ?? throw new InvalidOperationException("The nursery body returned a null Task.");
        }
        catch (Exception ex)
        {
            task = Task.FromException(ex);
        }

        Track(task, isChild: false);
    }

    private void Enter()
    {
        var current = Volatile.Read(ref _running);
        while (true)
        {
            if (current == 0)
            {
                throw new InvalidOperationException("The nursery is closed: its body and all its children have finished, so it cannot start more children.");
            }

            var seen = Interlocked.CompareExchange(ref _running, current + 1, current);
            if (seen == current)
            {
                Interlocked.Increment(ref _started);
                return;
            }

            current = seen;
        }
    }

    private void Track(Task task, bool isChild)
    {
        if (task.IsCompleted)
        {
            OnCompleted(task, isChild);
        }
        else
        {
            task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => OnCompleted(task, isChild));
        }
    }

    private void OnCompleted(Task task, bool isChild)
    {
        if (!task.IsCompletedSuccessfully)
        {
            ReportFailure(task);
        }

        Exit(isChild);
    }

    private void Exit(bool isChild)
    {
        if (isChild)
        {
            Interlocked.Increment(ref _completed);
        }

        if (Interlocked.Decrement(ref _running) == 0)
        {
            _drained.TrySetResult();
        }
    }

    private void ReportFailure(Task task)
    {
        if (task.IsCanceled)
        {
            if (!_cts.IsCancellationRequested)
            {
                // A cancellation the nursery did not ask for is a failure like any other.
                AddError(GetCancellationException(task));
            }

            return;
        }

        foreach (var ex in task.Exception!.InnerExceptions)
        {
            if (ex is OperationCanceledException && _cts.IsCancellationRequested)
            {
                continue;
            }

            AddError(ex);
        }
    }

    private static OperationCanceledException GetCancellationException(Task task)
    {
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException oce)
        {
            return oce;
        }

        return new TaskCanceledException(task);
    }

    private void AddError(Exception error)
    {
        lock (_errorsGate)
        {
            (_errors ??= []).Add(error);
        }

        CancelCore();
    }

    private void CancelCore()
    {
        try
        {
            _cts.Cancel();
        }
        catch (AggregateException callbacksFailed)
        {
            // A cancellation callback registered by user code threw: that is a failure of the nursery's work.
            lock (_errorsGate)
            {
                (_errors ??= []).AddRange(callbacksFailed.InnerExceptions);
            }
        }
        catch (ObjectDisposedException)
        {
            // Cancelled after the nursery finished: nothing left to cancel.
        }
    }

    private void Finish()
    {
        _outerRegistration.Dispose();
        List<Exception>? errors;
        lock (_errorsGate)
        {
            errors = _errors;
        }

        // Every child has finished and the outer registration is gone: nothing cancels this source any more. Cancel() after this point
        // meets ObjectDisposedException, which CancelCore ignores.
        _cts.Dispose();

        if (errors is { Count: 1 })
        {
            ExceptionDispatchInfo.Throw(errors[0]);
        }

        if (errors is { Count: > 1 })
        {
            throw new AggregateException("More than one task in the nursery failed.", errors);
        }

        _outer.ThrowIfCancellationRequested();
    }

    private sealed class SoonChild(Nursery nursery, Func<CancellationToken, Task> child) : ChildLauncher.IWorkItem
    {
        public void Run()
        {
            Task task;
            try
            {
                task = child(nursery.CancellationToken) ?? throw new InvalidOperationException("A nursery child returned a null Task.");
            }
            catch (Exception ex)
            {
                task = Task.FromException(ex);
            }

            nursery.Track(task, isChild: true);
        }
    }

    private sealed class StartingChild<T>(Nursery nursery, Func<StartStatus<T>, CancellationToken, Task> child, StartStatus<T> status, CancellationToken callerToken)
        : ChildLauncher.IWorkItem
    {
        public void Run()
        {
            var token = nursery.CancellationToken;
            CancellationTokenSource? linked = null;
            if (callerToken.CanBeCanceled)
            {
                // Before Started, the caller's token also cancels the child; after Started, only the nursery does.
                linked = CancellationTokenSource.CreateLinkedTokenSource(token);
                status.OnStartedOrFinished = linked;
                status.CallerToken = callerToken;
                token = linked.Token;

                // On a token that is already cancelled this runs now, before the child: the start is abandoned at once and the child
                // runs with a cancelled token, as Trio's start() in a cancelled scope does.
                var registration = callerToken.UnsafeRegister(static s => ((StartStatus<T>)s!).CancelBeforeStart(), status);
                status.CallerRegistration = registration;
            }

            Task task;
            try
            {
                task = child(status, token) ?? throw new InvalidOperationException("A nursery child returned a null Task.");
            }
            catch (Exception ex)
            {
                task = Task.FromException(ex);
            }

            if (task.IsCompleted)
            {
                Complete(task, linked);
            }
            else
            {
                task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => Complete(task, linked));
            }
        }

        private void Complete(Task task, CancellationTokenSource? linked)
        {
            if (status.TryFinishBeforeStart(task))
            {
                // The failure (or the missing Started) is reported to the StartAsync caller, not to the nursery.
            }
            else if (!task.IsCompletedSuccessfully)
            {
                nursery.ReportFailure(task);
            }

            status.CallerRegistration.Dispose();
            linked?.Dispose();
            nursery.Exit(isChild: true);
        }
    }
}
