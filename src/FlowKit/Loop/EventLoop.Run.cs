namespace FlowKit;

public sealed partial class EventLoop
{
    /// <summary>Runs the loop until the coroutine completes and returns its result, or rethrows its exception (asyncio's <c>run_until_complete</c>).</summary>
    /// <typeparam name="T">The coroutine's result type.</typeparam>
    /// <param name="coroutine">Started on the loop's thread; its continuations run there too.</param>
    /// <returns>The coroutine's result.</returns>
    /// <exception cref="InvalidOperationException">The loop is already running, is closed, or this is the loop's own thread;
    /// or <see cref="Stop"/> or <see cref="Dispose"/> ended the run before the coroutine completed.</exception>
    public T RunUntilComplete<T>(Func<Task<T>> coroutine)
    {
        ArgumentNullException.ThrowIfNull(coroutine);
        Task<T>? started = null;
        var generation = BeginRun(() => started = StartCoroutine(coroutine));
        var task = started!;

        // Stops only the run that started it: a coroutine that completes after Stop() ended this run must not stop a later one.
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => StopRun(generation));
        WaitForStop(generation);
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException(_closed
                ? "The event loop was closed before the coroutine completed."
                : "The event loop stopped before the coroutine completed.");
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
    /// <exception cref="InvalidOperationException">The loop is already running, is closed, or this is the loop's own thread.</exception>
    public T RunUntilComplete<T>(Task<T> future)
    {
        ArgumentNullException.ThrowIfNull(future);
        return RunUntilComplete(() => future);
    }

    /// <summary>Runs the loop until <see cref="Stop"/> is called or the loop is disposed (asyncio's <c>run_forever</c>).</summary>
    /// <exception cref="InvalidOperationException">The loop is already running, is closed, or this is the loop's own thread.</exception>
    public void RunForever()
    {
        var generation = BeginRun();
        WaitForStop(generation);
    }

    /// <summary>
    /// Stops the loop after the callbacks already queued have run (asyncio's <c>stop</c>); callbacks queued later wait for the next run.
    /// Thread-safe and idempotent. Called while the loop is not running (for example just before another thread's
    /// <see cref="RunForever"/> has begun), it stops the next run as asyncio does: that run processes the callbacks already queued and
    /// returns, so a <c>Stop</c> can never be lost to that race. Does nothing on a closed loop.
    /// </summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            if (_running)
            {
                StopLocked();
            }
            else
            {
                _stopPending = true;
            }
        }
    }

    /// <summary>
    /// Completes when the loop has nothing ready to run (Trio's <c>wait_all_tasks_blocked</c>): it is running and every coroutine on it
    /// waits for time or for something outside the loop, or it is not running at all (a stopped or closed loop runs nothing). Tests use it
    /// to advance a fake clock only once the work it set off has settled. Work that runs off the loop (the thread pool) is not seen.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the loop is idle.</returns>
    public Task WaitAllTasksBlockedAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if ((_closed || !_running || IsIdleLocked()) && !IsOnLoopThread)
            {
                return Task.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (_idleWaiters ??= []).Add(waiter);
            return cancellationToken.CanBeCanceled ? waiter.Task.WaitAsync(cancellationToken) : waiter.Task;
        }
    }

    private void StopLocked()
    {
        if (_running && !_stopping && !_closed)
        {
            _stopping = true;
            _ready.Enqueue(WorkItem.StopMarker);
            Monitor.PulseAll(_gate);
        }
    }

    private void StopRun(long generation)
    {
        lock (_gate)
        {
            if (_runGeneration == generation)
            {
                StopLocked();
            }
        }
    }

    private long BeginRun(Action? whileStarting = null)
    {
        if (IsOnLoopThread)
        {
            throw new InvalidOperationException("The event loop cannot be run from its own thread; await the task instead.");
        }

        lock (_gate)
        {
            ThrowIfClosed();
            if (_running)
            {
                throw new InvalidOperationException("The event loop is already running.");
            }

            // Queue the first callback before the loop starts, so the loop never looks idle between starting and receiving it.
            whileStarting?.Invoke();
            _running = true;
            _stopping = false;
            if (_stopPending)
            {
                // Stop() came before this run began: the run processes what is queued so far, then stops.
                _stopPending = false;
                StopLocked();
            }

            Monitor.PulseAll(_gate);
            return ++_runGeneration;
        }
    }

    private void WaitForStop(long generation)
    {
        lock (_gate)
        {
            while (_running && _runGeneration == generation)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    private bool IsIdleLocked() =>
        !_busy && _ready.Count == 0 && _batchCount == 0 && !(_timers.TryPeek(out _, out var key) && key.Due <= _time.GetUtcNow());

    private void ThreadMain()
    {
        t_current = this;
        SynchronizationContext.SetSynchronizationContext(_context);
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_closed)
                    {
                        _running = false;
                        _busy = false;
                        CompleteIdleWaitersLocked();
                        Monitor.PulseAll(_gate);
                        break;
                    }

                    if (_running)
                    {
                        MoveDueTimersLocked();
                        if (_batchCount > 0 || _ready.Count > 0)
                        {
                            _busy = true;
                            break;
                        }

                        _busy = false;
                        CompleteIdleWaitersLocked();
                    }

                    Monitor.Wait(_gate);
                }

                if (_closed)
                {
                    break;
                }

                // Take everything queued so far as one batch; a batch left over from a Stop() comes first, it was queued earlier.
                if (_batchCount == 0)
                {
                    (_batch, _ready) = (_ready, _batch);
                    _batchCount = _batch.Count;
                }
            }

            RunBatch();
        }

        DrainAfterClose();
    }

    private void RunBatch()
    {
        var batch = _batch;
        while (batch.TryDequeue(out var item))
        {
            _batchCount = batch.Count;
            if (item.IsStopMarker)
            {
                lock (_gate)
                {
                    _running = false;
                    _stopping = false;
                    _busy = false;
                    CompleteIdleWaitersLocked();
                    Monitor.PulseAll(_gate);
                }

                return;
            }

            Volatile.Write(ref _callbacksRun, _callbacksRun + 1);
            try
            {
                item.Execute();
            }
            catch (Exception ex)
            {
                ReportException(ex);
            }

            if (_closed)
            {
                return;
            }
        }

        _batchCount = 0;
    }

    private void DrainAfterClose()
    {
        List<WorkItem> leftovers = [];
        List<LoopTimer> timers = [];
        lock (_gate)
        {
            leftovers.AddRange(_batch);
            leftovers.AddRange(_ready);
            _batch.Clear();
            _ready.Clear();
            _batchCount = 0;
            while (_timers.TryDequeue(out var timer, out _))
            {
                timers.Add(timer);
            }
        }

        foreach (var item in leftovers)
        {
            item.RunAfterClose();
        }

        foreach (var timer in timers)
        {
            timer.Drop();
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
}
