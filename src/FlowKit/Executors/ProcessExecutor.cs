using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;

namespace FlowKit;

/// <summary>
/// <c>concurrent.futures.ProcessPoolExecutor</c> and <c>multiprocessing.Pool</c> for .NET: work named by a
/// <see cref="ProcessWork{TIn, TOut}"/> handle runs in child processes (the same program started as a worker, see
/// <see cref="ProcessWorker"/>), with JSON arguments and results over length-prefixed frames on the workers' pipes. A worker that
/// crashes fails only the items it held, with <see cref="WorkerCrashedException"/>, and is replaced; an exception thrown by the
/// work arrives as <see cref="RemoteWorkException"/>. Workers start on demand: an item starts a new worker only when no idle
/// worker can take it and fewer than <see cref="MaxWorkers"/> are running; idle workers are reused.
/// </summary>
/// <example>
/// <code>
/// if (await ProcessWorker.RunIfWorkerAsync(args, Registry)) return 0;
/// await using var pool = new ProcessExecutor(maxWorkers: Environment.ProcessorCount);
/// int primes = await pool.SubmitAsync(CountPrimes, 1_000_000L);                // futures
/// await foreach (var n in pool.MapAsync(CountPrimes, ranges, ordered: false))  // imap_unordered
/// {
///     Console.WriteLine(n);
/// }
/// </code>
/// </example>
[DebuggerDisplay("MaxWorkers = {MaxWorkers}")]
public sealed partial class ProcessExecutor : IAsyncDisposable
{
    /// <summary>The largest accepted <c>maxWorkers</c>.</summary>
    public const int MaxAllowedWorkers = 1024;

    private readonly Channel<ProcessCall> _queue = Channel.CreateUnbounded<ProcessCall>();
    private readonly CancellationTokenSource _kill = new();
    // Guarded by _workers: the live workers, the slot tasks, and how many slots run (a slot whose worker is still starting is
    // running but not yet in _workers).
    private readonly List<Task> _slots = [];
    private readonly List<ProcessWorkerConnection> _workers = [];
    private int _runningSlots;
    private readonly string _fileName;
    private readonly IReadOnlyList<string> _arguments;
    private readonly int _maxTasksPerWorker;
    private readonly int _inFlightPerWorker;
    private readonly TimeSpan _grace;
    private readonly TimeSpan _shutdownTimeout;
    private readonly int _maxFrame;
    private readonly TimeProvider _time;
    private long _completed;
    private long _started;
    private long _lost;
    private volatile bool _shutdown;

    /// <summary>Creates a pool of up to <paramref name="maxWorkers"/> worker processes.</summary>
    /// <param name="maxWorkers">Worker processes, 1 to <see cref="MaxAllowedWorkers"/>.</param>
    /// <param name="options">How workers are started and managed; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWorkers"/> or an option is out of range.</exception>
    public ProcessExecutor(int maxWorkers, ProcessExecutorOptions? options = null)
    {
        if (maxWorkers is < 1 or > MaxAllowedWorkers)
        {
            throw new ArgumentOutOfRangeException(nameof(maxWorkers), maxWorkers, $"maxWorkers must be between 1 and {MaxAllowedWorkers}.");
        }

        options ??= new ProcessExecutorOptions();
        options.Validate();
        MaxWorkers = maxWorkers;
        (_fileName, _arguments) = options.WorkerFileName is { } file
            ? (file, options.WorkerArguments.ToArray())
            : DefaultCommand(options.WorkerArguments);
        _maxTasksPerWorker = options.MaxTasksPerWorker;
        _inFlightPerWorker = options.MaxItemsInFlightPerWorker;
        _grace = options.CancellationGracePeriod;
        _shutdownTimeout = options.ShutdownTimeout;
        _time = options.TimeProvider ?? TimeProvider.System;
        _maxFrame = options.MaxFrameBytes;
    }

    /// <summary>Worker process slots.</summary>
    public int MaxWorkers { get; }

    /// <summary>True once shutdown or disposal has begun.</summary>
    public bool IsShutdown => _shutdown;

    /// <summary>A snapshot of the executor's counters.</summary>
    public ProcessExecutorStatistics GetStatistics()
    {
        int live, inFlight = 0;
        lock (_workers)
        {
            live = _workers.Count;
            foreach (var w in _workers)
            {
                inFlight += w.HeldCount;
            }
        }

        return new(MaxWorkers, live, _queue.Reader.Count, inFlight, Interlocked.Read(ref _completed), Interlocked.Read(ref _started),
            Interlocked.Read(ref _lost), _shutdown);
    }

    /// <summary>The process ids of the live workers (for monitoring and for tests that check nothing is left behind).</summary>
    /// <returns>A snapshot of the ids.</returns>
    public IReadOnlyList<int> GetWorkerProcessIds()
    {
        lock (_workers)
        {
            return [.. _workers.Select(static w => w.ProcessId)];
        }
    }

    /// <summary>Runs <paramref name="work"/> on <paramref name="input"/> in a worker process (<c>executor.submit</c>).</summary>
    /// <param name="work">The registered work.</param>
    /// <param name="input">Its argument, serialised with <see cref="ProcessWork{TIn, TOut}.InputType"/>.</param>
    /// <param name="cancellationToken">Removes a queued item; for a running one, cancels it in the worker, and kills and replaces
    /// the worker if it has not stopped within the grace period.</param>
    /// <returns>A task with the result; <see cref="RemoteWorkException"/> when the work threw (or its result was larger than
    /// <see cref="ProcessExecutorOptions.MaxFrameBytes"/>), <see cref="WorkerCrashedException"/> when the worker died,
    /// <see cref="JsonException"/> when the argument or result could not be serialised, and an already faulted task with
    /// <see cref="ArgumentException"/> when the serialised argument is larger than <see cref="ProcessExecutorOptions.MaxFrameBytes"/>
    /// (nothing is sent; no other call is affected).</returns>
    /// <exception cref="ObjectDisposedException">The executor has been shut down.</exception>
    public Task<TOut> SubmitAsync<TIn, TOut>(ProcessWork<TIn, TOut> work, TIn input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_shutdown, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TOut>(cancellationToken);
        }

        byte[] payload;
        try
        {
            payload = JsonSerializer.SerializeToUtf8Bytes(input, work.InputType);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return Task.FromException<TOut>(e);
        }

        var length = Internal.ExecutorsFrames.CallLength(work.NameUtf8.Length, payload.Length);
        if (length > _maxFrame)
        {
            return Task.FromException<TOut>(TooLarge(work.Name, length, nameof(input)));
        }

        var call = new ProcessCall<TOut>(work.NameUtf8, work.Name, payload, work.OutputType, cancellationToken);
        Enqueue(call);
        return call.Task;
    }

    /// <summary>A bounded Dataflow block whose messages run as <paramref name="work"/> in the worker processes, so a
    /// queue-of-work pattern is a linked Dataflow mesh.</summary>
    /// <param name="work">The registered work.</param>
    /// <param name="options">Capacity and ordering; null for the defaults.</param>
    /// <returns>A propagator block; a message whose item fails faults the block with that exception.</returns>
    public IPropagatorBlock<TIn, TOut> AsBlock<TIn, TOut>(ProcessWork<TIn, TOut> work, ExecutorBlockOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        var o = options ?? ExecutorBlockOptions.Default;
        o.Validate();
        var parallelism = MaxWorkers * _inFlightPerWorker;
        return new TransformBlock<TIn, TOut>(x => SubmitAsync(work, x), new ExecutionDataflowBlockOptions
        {
            MaxDegreeOfParallelism = parallelism,
            BoundedCapacity = o.Capacity == 0 ? 2 * parallelism : o.Capacity,
            EnsureOrdered = o.Ordered,
        });
    }

    /// <summary>Stops accepting work without waiting. Queued items still run unless <paramref name="cancelPending"/> is true:
    /// then every queued item is cancelled and every running one is asked to stop (and its worker killed after the grace period).</summary>
    /// <param name="cancelPending">Cancel queued and running items (<c>cancel_futures=True</c>).</param>
    public void Shutdown(bool cancelPending = false)
    {
        lock (_workers)
        {
            _shutdown = true;
            _queue.Writer.TryComplete();
        }

        if (!cancelPending)
        {
            return;
        }

        while (_queue.Reader.TryRead(out var call))
        {
            call.RequestCancel();
        }

        ProcessWorkerConnection[] workers;
        lock (_workers)
        {
            workers = [.. _workers];
        }

        foreach (var w in workers)
        {
            foreach (var call in w.SnapshotHeld())
            {
                call.RequestCancel();
            }
        }
    }

    /// <summary>Stops accepting work and waits until every worker process has exited. When <paramref name="cancellationToken"/>
    /// is cancelled, the workers are killed at once (their items fail with <see cref="OperationCanceledException"/>), and the
    /// method throws once they are gone: no child process outlives it either way.</summary>
    /// <param name="cancelPending">Cancel queued and running items instead of finishing them.</param>
    /// <param name="cancellationToken">Kills the workers instead of waiting for their work.</param>
    /// <returns>A task that completes when every worker has exited.</returns>
    public async Task ShutdownAsync(bool cancelPending = false, CancellationToken cancellationToken = default)
    {
        Shutdown(cancelPending);
        Task all;
        lock (_workers)
        {
            // No slot starts after shutdown (Enqueue fails under the same lock), so this is every slot there will be.
            all = Task.WhenAll(_slots);
        }

        try
        {
            await all.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Shutdown(cancelPending: true);
            await _kill.CancelAsync().ConfigureAwait(false);
            await all.ConfigureAwait(false);
            throw new OperationCanceledException("The shutdown was cancelled; the workers were killed.", cancellationToken);
        }
    }

    /// <summary>Shuts down, lets queued and running work finish, and waits until every worker process has exited.</summary>
    /// <returns>A task that completes when every worker has exited.</returns>
    public async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        _kill.Dispose();
    }

    private static (string FileName, IReadOnlyList<string> Arguments) DefaultCommand(IReadOnlyList<string> extra)
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("The current process's path is unknown; set ProcessExecutorOptions.WorkerFileName.");
        if (string.Equals(Path.GetFileNameWithoutExtension(path), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            var entry = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name
                ?? throw new InvalidOperationException("The entry assembly is unknown; set ProcessExecutorOptions.WorkerFileName.");
            return (path, [Path.Combine(AppContext.BaseDirectory, entry + ".dll"), .. extra]);
        }

        return (path, extra.ToArray());
    }

    private static ArgumentException TooLarge(string workName, long length, string paramName) => new(
        $"The request for '{workName}' would be a frame of {length} bytes, more than ProcessExecutorOptions.MaxFrameBytes allows; nothing was sent. Pass large data by reference (a file path), or raise the limit.",
        paramName);

    private void Enqueue(ProcessCall call)
    {
        // Registered before the call is published: once a dispatcher can see it, it may finish at any moment, and a registration
        // made after that would stay on a long-lived token for good, keeping the call alive.
        call.RegisterCancellation();
        lock (_workers)
        {
            if (!_queue.Writer.TryWrite(call))
            {
                call.Abandon();
                throw new ObjectDisposedException(nameof(ProcessExecutor), "The executor has been shut down; no new work is accepted.");
            }

            // On demand (CPython's rule): an idle worker takes the item; only when the queued items outnumber the idle workers
            // (holding nothing) and the ones still starting, and fewer than MaxWorkers run, does a new worker start.
            if (_runningSlots < MaxWorkers)
            {
                var idle = _runningSlots - _workers.Count;
                foreach (var w in _workers)
                {
                    if (w.HeldCount == 0)
                    {
                        idle++;
                    }
                }

                if (_queue.Reader.Count > idle)
                {
                    _runningSlots++;
                    _slots.RemoveAll(static t => t.IsCompleted);
                    _slots.Add(Task.Run(RunSlotAsync));
                }
            }
        }
    }

    private void OnReply() => Interlocked.Increment(ref _completed);
}
