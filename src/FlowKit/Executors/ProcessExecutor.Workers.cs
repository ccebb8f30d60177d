namespace FlowKit;

public sealed partial class ProcessExecutor
{
    private enum DispatchOutcome
    {
        Drained,
        Recycle,
        Stopped,
        Crashed,
    }

    /// <summary>One worker slot, started by <see cref="Enqueue"/> when an item needs a worker: start a worker, serve until it
    /// must be replaced, and replace it while work is queued; end when the queue is empty (the next demand starts a new slot)
    /// or at shutdown.</summary>
    private async Task RunSlotAsync()
    {
        while (true)
        {
            if (_kill.IsCancellationRequested)
            {
                EndSlot();
                return;
            }

            ProcessWorkerConnection worker;
            try
            {
                worker = ProcessWorkerConnection.Start(_fileName, _arguments, _inFlightPerWorker, _time, _grace, _maxFrame);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                // Fail one item with the cause rather than retrying in a loop; the next item tries again.
                if (_queue.Reader.TryRead(out var call))
                {
                    call.Fail(new InvalidOperationException($"Could not start a worker process '{_fileName}': {e.Message}", e));
                }

                if (TryEndSlotWhenIdle())
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref _started);
            lock (_workers)
            {
                _workers.Add(worker);
            }

            try
            {
                var outcome = await ServeAsync(worker).ConfigureAwait(false);
                if (outcome is DispatchOutcome.Drained or DispatchOutcome.Stopped)
                {
                    RemoveWorker(worker);
                    EndSlot();
                    return;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever went wrong with this worker, its calls must not be left pending and the slot must live on.
                worker.Kill();
                Interlocked.Increment(ref _lost);
                foreach (var call in worker.SnapshotHeld())
                {
                    call.Fail(new WorkerCrashedException($"Worker process {worker.ProcessId} failed: {e.Message}", e));
                }
            }
            finally
            {
                RemoveWorker(worker);
                worker.Dispose();
            }

            // Recycled or lost: replace the worker only while work is waiting.
            if (TryEndSlotWhenIdle())
            {
                return;
            }
        }
    }

    private void RemoveWorker(ProcessWorkerConnection worker)
    {
        lock (_workers)
        {
            _workers.Remove(worker);
        }
    }

    private void EndSlot()
    {
        lock (_workers)
        {
            _runningSlots--;
        }
    }

    /// <summary>Ends the slot when no item is queued; checked under the lock <see cref="Enqueue"/> publishes under, so an item
    /// published after this check sees one slot fewer and starts a new one.</summary>
    private bool TryEndSlotWhenIdle()
    {
        lock (_workers)
        {
            if (_queue.Reader.Count > 0 && !_kill.IsCancellationRequested)
            {
                return false;
            }

            _runningSlots--;
            return true;
        }
    }

    private async Task<DispatchOutcome> ServeAsync(ProcessWorkerConnection worker)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_kill.Token);
        var reading = worker.ReadLoopAsync(OnReply);
        var dispatching = DispatchAsync(worker, stop.Token);
        await Task.WhenAny(reading, dispatching).ConfigureAwait(false);
        DispatchOutcome outcome;
        if (!reading.IsCompleted)
        {
            outcome = await dispatching.ConfigureAwait(false);
            if (outcome == DispatchOutcome.Stopped)
            {
                worker.Kill();
            }
            else
            {
                worker.MarkDispatchDone();
                await worker.WhenIdle.ConfigureAwait(false);
                worker.CloseInput();
            }
        }
        else
        {
            await stop.CancelAsync().ConfigureAwait(false);
            outcome = await dispatching.ConfigureAwait(false);
            outcome = outcome == DispatchOutcome.Stopped && _kill.IsCancellationRequested ? DispatchOutcome.Stopped : DispatchOutcome.Crashed;
        }

        var exitCode = await worker.WaitForExitAsync(_shutdownTimeout).ConfigureAwait(false);
        await reading.ConfigureAwait(false);
        if (worker.WasKilled || outcome == DispatchOutcome.Crashed)
        {
            Interlocked.Increment(ref _lost);
        }

        worker.FailHeld(exitCode);
        return outcome;
    }

    private async Task<DispatchOutcome> DispatchAsync(ProcessWorkerConnection worker, CancellationToken token)
    {
        var batch = new List<ProcessCall>();
        try
        {
            while (true)
            {
                if (_maxTasksPerWorker > 0 && worker.Assigned >= _maxTasksPerWorker)
                {
                    return DispatchOutcome.Recycle;
                }

                await worker.Slots.WaitAsync(token).ConfigureAwait(false);
                if (!await _queue.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                {
                    worker.Slots.Release();
                    return DispatchOutcome.Drained;
                }

                await worker.WriteLock.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    var haveSlot = true;
                    while (haveSlot && (_maxTasksPerWorker == 0 || worker.Assigned < _maxTasksPerWorker) && _queue.Reader.TryRead(out var call))
                    {
                        if (!call.TryMarkSent(worker))
                        {
                            continue;
                        }

                        worker.Hold(call);
                        worker.Assigned++;
                        batch.Add(call);
                        haveSlot = worker.Slots.Wait(0);
                    }

                    if (haveSlot)
                    {
                        worker.Slots.Release();
                    }

                    if (batch.Count > 0)
                    {
                        await worker.WriteCallsAsync(batch, token).ConfigureAwait(false);
                        batch.Clear();
                    }
                }
                finally
                {
                    worker.WriteLock.Release();
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return DispatchOutcome.Stopped;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return DispatchOutcome.Crashed;
        }
    }
}
