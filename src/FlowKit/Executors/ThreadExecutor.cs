using System.Diagnostics;
using System.Threading.Tasks.Dataflow;

using FlowKit.Internal;

namespace FlowKit;

/// <summary>
/// <c>concurrent.futures.ThreadPoolExecutor</c> for .NET: a fixed set of dedicated threads for blocking code (synchronous I/O,
/// native calls) that must not starve the .NET thread pool. Work is queued in submission order and run by the first free thread.
/// </summary>
/// <example>
/// <code>
/// await using var threads = new ThreadExecutor(maxWorkers: 8);
/// string text = await threads.SubmitAsync(path => File.ReadAllText(path), "data.txt");
/// await foreach (var length in threads.MapAsync(p => new FileInfo(p).Length, paths, ordered: false))
/// {
///     Console.WriteLine(length);
/// }
/// </code>
/// </example>
[DebuggerDisplay("MaxWorkers = {MaxWorkers}, Queued = {QueuedCount}, Shutdown = {IsShutdown}")]
public sealed partial class ThreadExecutor : IAsyncDisposable, IDisposable
{
    /// <summary>The largest accepted <c>maxWorkers</c>.</summary>
    public const int MaxAllowedWorkers = 4096;

    [ThreadStatic]
    private static ThreadExecutor? t_owner;

    private readonly object _gate = new();
    private readonly Queue<ThreadWorkItem> _queue = new();
    private readonly Thread[] _threads;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ThreadExecutorScheduler _scheduler;
    private int _idle;
    private int _live;
    private int _busy;
    private long _submitted;
    private long _completed;
    private long _cancelled;
    private bool _shutdown;
    private volatile int _queueCount;
    private volatile bool _shutdownFlag;

    /// <summary>Starts <paramref name="maxWorkers"/> dedicated background threads.</summary>
    /// <param name="maxWorkers">How many threads run work at the same time; 1 to <see cref="MaxAllowedWorkers"/>.</param>
    /// <param name="name">Prefix for the threads' names (visible in debuggers and dumps); null for <c>FlowKit.ThreadExecutor</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWorkers"/> is not between 1 and <see cref="MaxAllowedWorkers"/>.</exception>
    public ThreadExecutor(int maxWorkers, string? name = null)
    {
        if (maxWorkers is < 1 or > MaxAllowedWorkers)
        {
            throw new ArgumentOutOfRangeException(nameof(maxWorkers), maxWorkers, $"maxWorkers must be between 1 and {MaxAllowedWorkers}.");
        }

        MaxWorkers = maxWorkers;
        _scheduler = new ThreadExecutorScheduler(this);
        _threads = new Thread[maxWorkers];
        _live = maxWorkers;
        var prefix = name ?? "FlowKit.ThreadExecutor";
        for (var i = 0; i < maxWorkers; i++)
        {
            _threads[i] = new Thread(static s => ((ThreadExecutor)s!).WorkerLoop())
            {
                IsBackground = true,
                Name = $"{prefix} #{i + 1}",
            };
        }

        foreach (var thread in _threads)
        {
            thread.Start(this);
        }
    }

    /// <summary>How many dedicated threads run work.</summary>
    public int MaxWorkers { get; }

    /// <summary>A <see cref="TaskScheduler"/> that runs tasks on this executor's threads, e.g. as
    /// <see cref="DataflowBlockOptions.TaskScheduler"/>. After shutdown, tasks queued to it run on the thread pool instead,
    /// because a scheduler cannot refuse a continuation without losing it.</summary>
    public TaskScheduler Scheduler => _scheduler;

    /// <summary>True once <see cref="Shutdown"/>, <see cref="ShutdownAsync"/> or disposal has begun.</summary>
    public bool IsShutdown
    {
        get
        {
            lock (_gate)
            {
                return _shutdown;
            }
        }
    }

    /// <summary>True when the calling thread is one of this executor's threads.</summary>
    public bool IsWorkerThread => ReferenceEquals(t_owner, this);

    private int QueuedCount
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>A snapshot of the executor's counters.</summary>
    public ThreadExecutorStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new ThreadExecutorStatistics(
                MaxWorkers,
                Volatile.Read(ref _busy),
                _queue.Count,
                Volatile.Read(ref _submitted),
                Volatile.Read(ref _completed),
                Volatile.Read(ref _cancelled),
                _shutdown);
        }
    }

    /// <summary>Runs <paramref name="work"/> on one of the executor's threads (<c>executor.submit</c>).</summary>
    /// <param name="work">Blocking code; it receives <paramref name="input"/> and <paramref name="cancellationToken"/>.</param>
    /// <param name="input">The argument passed to <paramref name="work"/>.</param>
    /// <param name="cancellationToken">Removes the item if it has not started; once running, the work sees the token.</param>
    /// <returns>A task (the future) with the work's result, its exception unchanged, or cancelled.</returns>
    /// <exception cref="ObjectDisposedException">The executor has been shut down.</exception>
    public Task<TOut> SubmitAsync<TIn, TOut>(Func<TIn, CancellationToken, TOut> work, TIn input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (cancellationToken.IsCancellationRequested)
        {
            ObjectDisposedException.ThrowIf(IsShutdown, this);
            return Task.FromCanceled<TOut>(cancellationToken);
        }

        // The cancellation registration is made before the item is published: once a worker can see it, the item may finish at
        // any moment, and a registration made after that would never be removed (a long-lived token would keep every such item,
        // its input and its result alive).
        var item = new ThreadWorkItem<TIn, TOut>(this, work, input, cancellationToken);
        var task = item.Task;
        item.RegisterCancellation();
        if (!TryEnqueue(item))
        {
            item.Abandon();
            throw new ObjectDisposedException(nameof(ThreadExecutor), "The executor has been shut down; no new work is accepted.");
        }

        return task;
    }

    /// <summary>Runs <paramref name="work"/> on one of the executor's threads (<c>executor.submit</c>).</summary>
    /// <param name="work">Blocking code; it receives <paramref name="input"/>.</param>
    /// <param name="input">The argument passed to <paramref name="work"/>.</param>
    /// <param name="cancellationToken">Removes the item if it has not started yet.</param>
    /// <returns>A task (the future) with the work's result, its exception unchanged, or cancelled.</returns>
    /// <exception cref="ObjectDisposedException">The executor has been shut down.</exception>
    public Task<TOut> SubmitAsync<TIn, TOut>(Func<TIn, TOut> work, TIn input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return SubmitAsync(static (s, _) => s.Work(s.Input), (Work: work, Input: input), cancellationToken);
    }

    /// <summary>Runs an action on one of the executor's threads (<c>executor.submit</c> of a function returning None).</summary>
    /// <param name="work">Blocking code; it receives <paramref name="input"/>.</param>
    /// <param name="input">The argument passed to <paramref name="work"/>.</param>
    /// <param name="cancellationToken">Removes the item if it has not started yet.</param>
    /// <returns>A task that completes when the action has run, with its exception unchanged, or cancelled.</returns>
    /// <exception cref="ObjectDisposedException">The executor has been shut down.</exception>
    public Task SubmitAsync<TIn>(Action<TIn> work, TIn input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return SubmitAsync(static (s, _) =>
        {
            s.Work(s.Input);
            return true;
        }, (Work: work, Input: input), cancellationToken);
    }

    /// <summary>A bounded Dataflow block (<c>TransformBlock</c>) whose work runs on this executor's threads, so a queue-of-work
    /// pattern is a linked Dataflow mesh.</summary>
    /// <param name="work">Blocking code run once per message.</param>
    /// <param name="options">Capacity and ordering; null for the defaults.</param>
    /// <returns>A propagator block; complete it with <see cref="IDataflowBlock.Complete"/>.</returns>
    public IPropagatorBlock<TIn, TOut> AsBlock<TIn, TOut>(Func<TIn, TOut> work, ExecutorBlockOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        var o = options ?? ExecutorBlockOptions.Default;
        o.Validate();
        return new TransformBlock<TIn, TOut>(work, new ExecutionDataflowBlockOptions
        {
            TaskScheduler = Scheduler,
            MaxDegreeOfParallelism = MaxWorkers,
            BoundedCapacity = o.Capacity == 0 ? 2 * MaxWorkers : o.Capacity,
            EnsureOrdered = o.Ordered,
            SingleProducerConstrained = false,
        });
    }

    /// <summary>Stops accepting work without waiting (<c>shutdown(wait=False)</c>). Queued work still runs unless
    /// <paramref name="cancelPending"/> is true, in which case every queued item is cancelled (none is dropped silently).
    /// Calling it again is harmless.</summary>
    /// <param name="cancelPending">Cancel the items that have not started (<c>cancel_futures=True</c>).</param>
    public void Shutdown(bool cancelPending = false)
    {
        List<ThreadWorkItem>? drained = null;
        lock (_gate)
        {
            if (!_shutdown)
            {
                _shutdown = true;
                _shutdownFlag = true;
                Monitor.PulseAll(_gate);
            }

            if (cancelPending && _queue.Count > 0)
            {
                drained = [.. _queue];
                _queue.Clear();
                _queueCount = 0;
            }
        }

        if (drained is not null)
        {
            foreach (var item in drained)
            {
                item.CancelPending();
            }
        }
    }

    /// <summary>Stops accepting work and waits until every thread has finished its running work (<c>shutdown(wait=True)</c>).
    /// Safe to call from one of the executor's own threads: the returned task completes once that thread has returned too.</summary>
    /// <param name="cancelPending">Cancel the items that have not started instead of running them.</param>
    /// <param name="cancellationToken">Stops waiting (the shutdown itself still happens).</param>
    /// <returns>A task that completes when every thread has exited.</returns>
    public Task ShutdownAsync(bool cancelPending = false, CancellationToken cancellationToken = default)
    {
        Shutdown(cancelPending);
        return _stopped.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Shuts down and waits for running and queued work to finish.</summary>
    /// <returns>A task that completes when every thread has exited.</returns>
    public ValueTask DisposeAsync() => new(ShutdownAsync());

    /// <summary>Shuts down and blocks until every thread has exited (except the calling thread when it is one of them).</summary>
    public void Dispose()
    {
        Shutdown();
        foreach (var thread in _threads)
        {
            if (thread != Thread.CurrentThread)
            {
                thread.Join();
            }
        }
    }

    /// <summary>Waits for an item and runs it; false once the executor has shut down and the queue is empty.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private bool RunNext()
    {
        ThreadWorkItem item;

        // A short spin before parking: under a steady stream of small items the next one usually arrives within
        // microseconds, and a park/unpark pair costs far more than that.
        for (var spin = 0; spin < 20 && _queueCount == 0 && !_shutdownFlag; spin++)
        {
            Thread.SpinWait(20);
        }

        lock (_gate)
        {
            while (_queue.Count == 0)
            {
                if (_shutdown)
                {
                    return false;
                }

                _idle++;
                Monitor.Wait(_gate);
                _idle--;
            }

            item = _queue.Dequeue();
            _queueCount = _queue.Count;
        }

        Interlocked.Increment(ref _busy);
        try
        {
            item.Run();
        }
        finally
        {
            Interlocked.Decrement(ref _busy);
            Interlocked.Increment(ref _completed);
        }

        return true;
    }

    internal bool TryEnqueue(ThreadWorkItem item)
    {
        lock (_gate)
        {
            if (_shutdown)
            {
                return false;
            }

            _queue.Enqueue(item);
            _queueCount = _queue.Count;
            _submitted++;
            if (_idle > 0)
            {
                Monitor.Pulse(_gate);
            }
        }

        return true;
    }

    internal void CountCancelled() => Interlocked.Increment(ref _cancelled);

    internal Task[] SnapshotScheduledTasks()
    {
        lock (_gate)
        {
            return _queue.OfType<ThreadExecutorScheduler.SchedulerItem>().Select(static i => i.Task).ToArray();
        }
    }

    private void WorkerLoop()
    {
        t_owner = this;
        try
        {
            // The item is taken and run in a separate, non-inlined frame, so this loop's frame (which lives as long as the thread,
            // and whose locals unoptimised or on-stack-replaced code keeps reported) never holds a finished item while the thread
            // waits for the next one.
            while (RunNext())
            {
            }
        }
        finally
        {
            t_owner = null;
            if (Interlocked.Decrement(ref _live) == 0)
            {
                _stopped.TrySetResult();
            }
        }
    }
}
