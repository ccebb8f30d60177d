using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace FlowKit;

/// <summary>
/// asyncio's event loop: one dedicated thread with its own <see cref="SynchronizationContext"/> and <see cref="TaskScheduler"/>, so every
/// continuation of a coroutine the loop started runs on that thread. Like asyncio, the loop processes callbacks only while it runs
/// (<see cref="RunUntilComplete{T}(Func{Task{T}})"/> or <see cref="RunForever"/>).
/// </summary>
/// <example>
/// <code>
/// using var loop = new EventLoop();
/// var sum = loop.RunUntilComplete(async () =>
/// {
///     await loop.SleepAsync(TimeSpan.FromSeconds(1));
///     return 1 + 2;
/// });
/// </code>
/// </example>
[DebuggerDisplay("Running = {IsRunning}, Closed = {IsClosed}, Ready = {ReadyCount}")]
public sealed partial class EventLoop : IDisposable
{
    [ThreadStatic]
    private static EventLoop? t_current;

    private readonly object _gate = new();
    private readonly Queue<WorkItem> _ready = new();
    private readonly PriorityQueue<LoopTimer, (DateTimeOffset Due, long Sequence)> _timers = new();
    private readonly Thread _thread;
    private readonly TimeProvider _time;
    private readonly LoopSynchronizationContext _context;
    private readonly LoopTaskScheduler _scheduler;
    private readonly ITimer _wakeTimer;
    private List<TaskCompletionSource>? _idleWaiters;
    private Action<EventLoop, Exception>? _exceptionHandler;
    private DateTimeOffset _wakeAt = DateTimeOffset.MaxValue;
    private long _timerSequence;
    private long _callbacksRun;
    private bool _running;
    private bool _busy;
    private bool _closed;

    /// <summary>Creates a loop and its thread. The loop does nothing until it runs.</summary>
    /// <param name="timeProvider">The loop's clock, for <see cref="Time"/>, <see cref="CallLater"/> and <see cref="SleepAsync"/>;
    /// <see langword="null"/> means <see cref="TimeProvider.System"/>. Tests pass a <c>FakeTimeProvider</c>.</param>
    public EventLoop(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _context = new LoopSynchronizationContext(this);
        _scheduler = new LoopTaskScheduler(this);
        _wakeTimer = _time.CreateTimer(static s => ((EventLoop)s!).OnWakeTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _thread = new Thread(ThreadMain) { IsBackground = true, Name = "FlowKit.EventLoop" };
        _thread.Start();
    }

    /// <summary>The loop running on the current thread (asyncio's <c>get_running_loop</c>), or <see langword="null"/>.</summary>
    public static EventLoop? Current => t_current;

    /// <summary>The loop's current time on its <see cref="TimeProvider"/> (asyncio's <c>loop.time()</c>).</summary>
    public DateTimeOffset Time => _time.GetUtcNow();

    /// <summary>The loop's clock.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>A <see cref="System.Threading.Tasks.TaskScheduler"/> that runs tasks on the loop's thread.</summary>
    public TaskScheduler TaskScheduler => _scheduler;

    /// <summary>The loop's <see cref="System.Threading.SynchronizationContext"/>: <c>Post</c> queues a callback on the loop.</summary>
    public SynchronizationContext SynchronizationContext => _context;

    /// <summary>True while <see cref="RunUntilComplete{T}(Func{Task{T}})"/> or <see cref="RunForever"/> is running the loop.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <summary>True once the loop has been disposed.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>True when the calling code runs on this loop's thread.</summary>
    public bool IsOnLoopThread => Thread.CurrentThread == _thread;

    private int ReadyCount
    {
        get
        {
            lock (_gate)
            {
                return _ready.Count;
            }
        }
    }

    /// <summary>A snapshot of the loop's counters.</summary>
    public EventLoopStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new EventLoopStatistics(_ready.Count, _timers.Count, Interlocked.Read(ref _callbacksRun), _running, _closed);
        }
    }

    /// <summary>
    /// Sets the handler for exceptions thrown by callbacks (asyncio's <c>set_exception_handler</c>); the loop goes on running.
    /// <see langword="null"/> restores the default, which writes the exception to standard error.
    /// </summary>
    /// <param name="handler">Receives the loop and the exception, on the loop's thread.</param>
    public void SetExceptionHandler(Action<EventLoop, Exception>? handler) => Volatile.Write(ref _exceptionHandler, handler);

    /// <summary>Runs the loop until the coroutine completes and returns its result, or rethrows its exception (asyncio's <c>run_until_complete</c>).</summary>
    /// <typeparam name="T">The coroutine's result type.</typeparam>
    /// <param name="coroutine">Started on the loop's thread; its continuations run there too.</param>
    /// <returns>The coroutine's result.</returns>
    /// <exception cref="InvalidOperationException">The loop is already running, is closed, or this is the loop's own thread;
    /// or <see cref="Stop"/> stopped the loop before the coroutine completed.</exception>
    public T RunUntilComplete<T>(Func<Task<T>> coroutine)
    {
        ArgumentNullException.ThrowIfNull(coroutine);
        Task<T>? started = null;
        BeginRun(() => started = StartCoroutine(coroutine));
        var task = started!;
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(Stop);
        WaitForStop();
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException("The event loop stopped before the coroutine completed.");
        }

        return task.GetAwaiter().GetResult();
    }

    /// <summary>Runs the loop until the coroutine completes, rethrowing its exception (asyncio's <c>run_until_complete</c>).</summary>
    /// <param name="coroutine">Started on the loop's thread; its continuations run there too.</param>
    /// <exception cref="InvalidOperationException">The loop is already running, is closed, or this is the loop's own thread.</exception>
    public void RunUntilComplete(Func<Task> coroutine)
    {
        ArgumentNullException.ThrowIfNull(coroutine);
        RunUntilComplete(async () =>
        {
            await coroutine().ConfigureAwait(true);
            return true;
        });
    }

    /// <summary>Runs the loop until the task completes (asyncio's <c>run_until_complete(future)</c>) and returns its result.</summary>
    /// <typeparam name="T">The task's result type.</typeparam>
    /// <param name="future">A task, for example of a <see cref="TaskCompletionSource{TResult}"/> set by a coroutine on the loop.</param>
    /// <returns>The task's result.</returns>
    public T RunUntilComplete<T>(Task<T> future)
    {
        ArgumentNullException.ThrowIfNull(future);
        return RunUntilComplete(() => future);
    }

    /// <summary>Runs the loop until <see cref="Stop"/> is called (asyncio's <c>run_forever</c>).</summary>
    /// <exception cref="InvalidOperationException">The loop is already running, is closed, or this is the loop's own thread.</exception>
    public void RunForever()
    {
        BeginRun();
        WaitForStop();
    }

    /// <summary>Stops the loop after the callbacks already queued have run (asyncio's <c>stop</c>). Thread-safe; does nothing when not running.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _ready.Enqueue(WorkItem.StopMarker);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Starts <paramref name="coroutine"/> on the loop as a task (asyncio's <c>create_task</c>); it runs while the loop runs.</summary>
    /// <param name="coroutine">The coroutine; its continuations run on the loop.</param>
    /// <returns>The coroutine's task.</returns>
    public Task CreateTask(Func<Task> coroutine)
    {
        ArgumentNullException.ThrowIfNull(coroutine);
        ThrowIfClosed();
        return Task.Factory.StartNew(coroutine, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler).Unwrap();
    }

    /// <summary>Starts <paramref name="coroutine"/> on the loop as a task with a result (asyncio's <c>create_task</c>).</summary>
    /// <typeparam name="T">The coroutine's result type.</typeparam>
    /// <param name="coroutine">The coroutine; its continuations run on the loop.</param>
    /// <returns>The coroutine's task.</returns>
    public Task<T> CreateTask<T>(Func<Task<T>> coroutine)
    {
        ArgumentNullException.ThrowIfNull(coroutine);
        ThrowIfClosed();
        return StartCoroutine(coroutine);
    }

    /// <summary>Queues <paramref name="callback"/> to run on the loop, after the callbacks queued before it (asyncio's <c>call_soon_threadsafe</c>).</summary>
    /// <param name="callback">Runs on the loop's thread. If it throws, the exception handler is called and the loop goes on.</param>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    public void CallSoon(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Enqueue(WorkItem.ForAction(callback), throwIfClosed: true);
    }

    /// <summary>Runs <paramref name="callback"/> on the loop after <paramref name="delay"/> (asyncio's <c>call_later</c>). Callbacks due at the
    /// same time run in the order they were scheduled.</summary>
    /// <param name="delay">Zero or positive.</param>
    /// <param name="callback">Runs on the loop's thread.</param>
    /// <returns>A handle; disposing it cancels the callback if it has not run yet.</returns>
    public LoopTimerHandle CallLater(TimeSpan delay, Action callback)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return CallAt(_time.GetUtcNow() + delay, callback);
    }

    /// <summary>Runs <paramref name="callback"/> on the loop at <paramref name="when"/> on the loop's clock (asyncio's <c>call_at</c>).</summary>
    /// <param name="when">The due time; a time in the past runs at the next iteration.</param>
    /// <param name="callback">Runs on the loop's thread.</param>
    /// <returns>A handle; disposing it cancels the callback if it has not run yet.</returns>
    public LoopTimerHandle CallAt(DateTimeOffset when, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new LoopTimer(this, when, callback);
        lock (_gate)
        {
            ThrowIfClosedLocked();
            _timers.Enqueue(timer, (when, _timerSequence++));
            ArmWakeTimerLocked();
            Monitor.PulseAll(_gate);
        }

        return new LoopTimerHandle(timer);
    }

    /// <summary>Waits <paramref name="delay"/> on the loop's clock (asyncio's <c>sleep</c>); the continuation runs in the awaiting context.</summary>
    /// <param name="delay">Zero or positive.</param>
    /// <param name="cancellationToken">Cancels the sleep.</param>
    /// <returns>A task that completes after the delay.</returns>
    public Task SleepAsync(TimeSpan delay, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var sleep = new Sleep(cancellationToken);
        sleep.Handle = CallLater(delay, sleep.Complete);
        sleep.Register();
        return sleep.Task;
    }

    /// <summary>
    /// Completes when the loop is running and has no ready callbacks (Trio's <c>wait_all_tasks_blocked</c>): every coroutine on it is waiting
    /// for time or for something outside the loop. Tests use it to advance a fake clock only once the work it set off has settled.
    /// It also completes when the loop closes.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the loop is idle.</returns>
    public Task WaitAllTasksBlockedAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if ((_closed || (_running && !_busy && _ready.Count == 0)) && !IsOnLoopThread)
            {
                return Task.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (_idleWaiters ??= []).Add(waiter);
            return cancellationToken.CanBeCanceled ? waiter.Task.WaitAsync(cancellationToken) : waiter.Task;
        }
    }

    /// <summary>Closes the loop (asyncio's <c>close</c>): stops it if it is running, ends its thread, and drops callbacks that never ran.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            Monitor.PulseAll(_gate);
        }

        _wakeTimer.Dispose();
        if (!IsOnLoopThread)
        {
            _thread.Join();
        }
    }

    internal void Enqueue(WorkItem item, bool throwIfClosed)
    {
        lock (_gate)
        {
            if (_closed)
            {
                if (throwIfClosed)
                {
                    throw new InvalidOperationException("The event loop is closed.");
                }

                // A continuation posted after close still has to run somewhere, or its awaiter would hang forever.
                ThreadPool.UnsafeQueueUserWorkItem(static w => w.Execute(), item, preferLocal: false);
                return;
            }

            _ready.Enqueue(item);
            if (_ready.Count == 1)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    private Task<T> StartCoroutine<T>(Func<Task<T>> coroutine) =>
        Task.Factory.StartNew(coroutine, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler).Unwrap();

    private void BeginRun(Action? whileStarting = null)
    {
        if (IsOnLoopThread)
        {
            throw new InvalidOperationException("The event loop cannot be run from its own thread; await the task instead.");
        }

        lock (_gate)
        {
            ThrowIfClosedLocked();
            if (_running)
            {
                throw new InvalidOperationException("The event loop is already running.");
            }

            // Queue the first callback before the loop starts, so the loop never looks idle between starting and receiving it.
            whileStarting?.Invoke();
            _running = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void WaitForStop()
    {
        lock (_gate)
        {
            while (_running)
            {
                Monitor.Wait(_gate);
            }

        }
    }

    private void ThrowIfClosed()
    {
        lock (_gate)
        {
            ThrowIfClosedLocked();
        }
    }

    private void ThrowIfClosedLocked()
    {
        if (_closed)
        {
            throw new InvalidOperationException("The event loop is closed.");
        }
    }

    private void ThreadMain()
    {
        t_current = this;
        SynchronizationContext.SetSynchronizationContext(_context);
        while (true)
        {
            WorkItem item;
            lock (_gate)
            {
                while (true)
                {
                    if (_closed)
                    {
                        _running = false;
                        CompleteIdleWaitersLocked();
                        Monitor.PulseAll(_gate);
                        return;
                    }

                    if (_running)
                    {
                        MoveDueTimersLocked();
                        if (_ready.Count > 0)
                        {
                            break;
                        }
                    }

                    _busy = false;
                    if (_running)
                    {
                        CompleteIdleWaitersLocked();
                    }

                    Monitor.Wait(_gate);
                }

                item = _ready.Dequeue();
                if (item.IsStopMarker)
                {
                    _running = false;
                    Monitor.PulseAll(_gate);
                    continue;
                }

                _busy = true;
            }

            Interlocked.Increment(ref _callbacksRun);
            try
            {
                item.Execute();
            }
            catch (Exception ex)
            {
                ReportException(ex);
            }
        }
    }

    private void ReportException(Exception ex)
    {
        var handler = Volatile.Read(ref _exceptionHandler);
        if (handler is null)
        {
            Console.Error.WriteLine($"FlowKit.EventLoop: exception in callback: {ex}");
            return;
        }

        try
        {
            handler(this, ex);
        }
        catch (Exception handlerFailed)
        {
            Console.Error.WriteLine($"FlowKit.EventLoop: the exception handler threw: {handlerFailed}");
        }
    }

    private void CompleteIdleWaitersLocked()
    {
        if (_idleWaiters is { Count: > 0 } waiters)
        {
            _idleWaiters = null;
            foreach (var waiter in waiters)
            {
                waiter.TrySetResult();
            }
        }
    }

    private void MoveDueTimersLocked()
    {
        if (_timers.Count == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        while (_timers.TryPeek(out var timer, out var key) && key.Due <= now)
        {
            _timers.Dequeue();
            if (!timer.IsCancelled)
            {
                _ready.Enqueue(WorkItem.ForTimer(timer));
            }
        }

        ArmWakeTimerLocked();
    }

    private void ArmWakeTimerLocked()
    {
        while (_timers.TryPeek(out var first, out _) && first.IsCancelled)
        {
            _timers.Dequeue();
        }

        var next = _timers.TryPeek(out _, out var key) ? key.Due : DateTimeOffset.MaxValue;
        if (next == _wakeAt)
        {
            return;
        }

        _wakeAt = next;
        if (next == DateTimeOffset.MaxValue)
        {
            _wakeTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var due = next - _time.GetUtcNow();
        _wakeTimer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    private void OnWakeTimer()
    {
        lock (_gate)
        {
            _wakeAt = DateTimeOffset.MaxValue;
            if (_closed)
            {
                return;
            }

            // Move due timers now, under the lock, so a test that waits for the loop to be idle sees the work they set off.
            if (_running)
            {
                MoveDueTimersLocked();
            }
            else
            {
                ArmWakeTimerLocked();
            }

            Monitor.PulseAll(_gate);
        }
    }

    internal void CancelTimer(LoopTimer timer)
    {
        lock (_gate)
        {
            timer.IsCancelled = true;
            if (!_closed)
            {
                ArmWakeTimerLocked();
            }
        }
    }

    private sealed class Sleep(CancellationToken cancellationToken) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private CancellationTokenRegistration _registration;

        public LoopTimerHandle? Handle { get; set; }

        public void Register()
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static s =>
                {
                    var sleep = (Sleep)s!;
                    sleep.Handle?.Dispose();
                    sleep.TrySetCanceled(sleep.Token);
                }, this);
            }
        }

        private CancellationToken Token => cancellationToken;

        public void Complete()
        {
            _registration.Dispose();
            TrySetResult();
        }
    }
}
