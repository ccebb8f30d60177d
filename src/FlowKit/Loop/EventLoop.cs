using System.Diagnostics;
using System.Reactive.Concurrency;

namespace FlowKit;

/// <summary>
/// asyncio's event loop: one dedicated thread with its own <see cref="SynchronizationContext"/> and <see cref="TaskScheduler"/>, so every
/// continuation of a coroutine the loop started runs on that thread. Like asyncio, the loop processes callbacks only while it runs
/// (<see cref="RunUntilComplete{T}(Func{Task{T}})"/> or <see cref="RunForever"/>); work queued while it is stopped waits for the next run.
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
    private readonly Thread _thread;
    private readonly TimeProvider _time;
    private readonly LoopSynchronizationContext _context;
    private readonly LoopTaskScheduler _scheduler;
    private readonly ITimer _wakeTimer;
    private readonly Lazy<LoopScheduler> _rxScheduler;

    // Callbacks queued by any thread (guarded by _gate) and the batch the loop thread took from it (loop thread only), so the loop
    // takes the lock once per batch, not once per callback.
    private Queue<WorkItem> _ready = new();
    private Queue<WorkItem> _batch = new();
    private volatile int _batchCount;
    private List<TaskCompletionSource>? _idleWaiters;
    private Action<EventLoop, Exception>? _exceptionHandler;
    private long _callbacksRun;
    private long _runGeneration;
    private bool _running;
    private bool _stopping;
    private bool _stopPending;
    private bool _busy;
    private volatile bool _closed;

    /// <summary>Creates a loop and its thread. The loop does nothing until it runs.</summary>
    /// <param name="timeProvider">The loop's clock, for <see cref="Time"/>, <see cref="CallLater"/> and <see cref="SleepAsync"/>;
    /// <see langword="null"/> means <see cref="TimeProvider.System"/>. Tests pass a <c>FakeTimeProvider</c>.</param>
    public EventLoop(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _context = new LoopSynchronizationContext(this);
        _scheduler = new LoopTaskScheduler(this);
        _rxScheduler = new Lazy<LoopScheduler>(() => new LoopScheduler(this));
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

    /// <summary>The loop's <see cref="System.Threading.SynchronizationContext"/>: <c>Post</c> queues a callback on the loop; <c>Send</c> from
    /// another thread blocks until the loop has run it (on a loop that is not running, until its next run).</summary>
    public SynchronizationContext SynchronizationContext => _context;

    /// <summary>
    /// An Rx scheduler that runs work on the loop's thread, in <see cref="CallSoon(Action)"/> order, with timed work through <see cref="CallLater"/>
    /// on the loop's clock; <c>Now</c> is <see cref="Time"/>. It also implements <see cref="ISchedulerPeriodic"/> (drift-free periods).
    /// Work scheduled on a loop that is not running waits for the next run; scheduling on a closed loop throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public IScheduler Scheduler => _rxScheduler.Value;

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
    public bool IsClosed => _closed;

    /// <summary>True when the calling code runs on this loop's thread.</summary>
    public bool IsOnLoopThread => Thread.CurrentThread == _thread;

    private int ReadyCount
    {
        get
        {
            lock (_gate)
            {
                return _ready.Count + _batchCount;
            }
        }
    }

    /// <summary>A snapshot of the loop's counters.</summary>
    /// <returns>The counters at the time of the call.</returns>
    public EventLoopStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new EventLoopStatistics(_ready.Count + _batchCount, _timers.Count, Volatile.Read(ref _callbacksRun), _running, _closed);
        }
    }

    /// <summary>
    /// Sets the handler for exceptions thrown by callbacks (asyncio's <c>set_exception_handler</c>); the loop goes on running.
    /// <see langword="null"/> restores the default, which writes the exception to standard error and keeps running.
    /// </summary>
    /// <param name="handler">Receives the loop and the exception, on the loop's thread. If it throws, that is written to standard error.</param>
    public void SetExceptionHandler(Action<EventLoop, Exception>? handler) => Volatile.Write(ref _exceptionHandler, handler);

    /// <summary>Starts <paramref name="coroutine"/> on the loop as a task (asyncio's <c>create_task</c>); it runs while the loop runs.</summary>
    /// <param name="coroutine">The coroutine; its continuations run on the loop.</param>
    /// <returns>The coroutine's task.</returns>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
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
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
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

    /// <summary>Queues <paramref name="callback"/> with its state to run on the loop (asyncio's <c>call_soon(callback, *args)</c>), without a closure.</summary>
    /// <param name="callback">Runs on the loop's thread with <paramref name="state"/>.</param>
    /// <param name="state">Passed to <paramref name="callback"/>.</param>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    public void CallSoon(Action<object?> callback, object? state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Enqueue(WorkItem.ForState(callback, state), throwIfClosed: true);
    }

    /// <summary>Closes the loop (asyncio's <c>close</c>): stops it if it is running and ends its thread. Callbacks and timers that never ran
    /// are dropped, pending <see cref="SleepAsync"/> calls are cancelled, and task continuations still queued run on the thread pool so
    /// nothing awaiting them hangs. Idempotent; may be called from the loop's own thread.</summary>
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
            if (!_closed)
            {
                _ready.Enqueue(item);

                // Only a waiting loop needs waking; the loop thread queueing to itself is never waiting.
                if (_ready.Count == 1 && Thread.CurrentThread != _thread)
                {
                    Monitor.PulseAll(_gate);
                }

                return;
            }
        }

        if (throwIfClosed)
        {
            throw new InvalidOperationException("The event loop is closed.");
        }

        // A continuation posted after close still has to run somewhere, or its awaiter would hang forever.
        item.RunAfterClose();
    }

    private Task<T> StartCoroutine<T>(Func<Task<T>> coroutine) =>
        Task.Factory.StartNew(coroutine, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler).Unwrap();

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new InvalidOperationException("The event loop is closed.");
        }
    }
}
