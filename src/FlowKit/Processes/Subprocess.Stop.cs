using System.Runtime.InteropServices;
using System.Diagnostics;

namespace FlowKit.Processes;

public sealed partial class Subprocess
{
    private Task? _stopTask;
    private int _disposed;

    /// <summary>Sends <paramref name="signal"/> to the child, or to its whole process group.</summary>
    /// <param name="signal">The signal (a <see cref="PosixSignal"/> member or a raw positive number).</param>
    /// <param name="toProcessGroup">Whether to signal every process in the child's group (only when it has its own group).</param>
    /// <returns><see langword="false"/> when the child (or group) no longer exists.</returns>
    /// <exception cref="PlatformNotSupportedException">On Windows.</exception>
    public bool SendSignal(PosixSignal signal, bool toProcessGroup = false)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Sending POSIX signals to a child is not supported on Windows; use Kill.");
        }

        var native = PosixNative.ToNative(signal);
        return HasExited && !toProcessGroup ? false : SignalCore(native, toProcessGroup && _processGroup);
    }

    /// <summary>Asks the child (and its process group) to stop with SIGTERM; on Windows kills the tree.</summary>
    public void Terminate()
    {
        if (OperatingSystem.IsWindows())
        {
            Kill();
            return;
        }

        SignalCore(PosixNative.SigTerm, _processGroup);
    }

    /// <summary>Kills the child and its process group with SIGKILL (or, without a group, the child's process tree).</summary>
    public void Kill()
    {
        if (OperatingSystem.IsWindows() || !_processGroup)
        {
            if (HasExited)
            {
                // Without a group nothing left behind can be found any more (and the tree walk reads every process on the machine).
                return;
            }

            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited and reaped.
            }

            return;
        }

        SignalCore(PosixNative.SigKill, toGroup: true);
    }

    /// <summary>
    /// Stops the child: SIGTERM to it and its group, SIGKILL after <see cref="SubprocessOptions.GracePeriod"/> if it is still
    /// running, then SIGKILL to whatever is left in its group. Idempotent: every caller waits for the same stop.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait only; the stop goes on.</param>
    /// <returns>The child's exit code.</returns>
    public async Task<int> StopAsync(CancellationToken cancellationToken = default)
    {
        await BeginStop().WaitAsync(cancellationToken).ConfigureAwait(false);
        return _exitCode;
    }

    /// <summary>Stops and reaps the child (see <see cref="StopAsync"/>), closes its standard input and stops the output readers.</summary>
    /// <returns>A task that completes when the child has been reaped and every reader task has finished.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _lifetime.DisposeAsync().ConfigureAwait(false);
        await StandardInput.AbandonAsync().ConfigureAwait(false);
        await BeginStop().ConfigureAwait(false);
        await _pumpCancellation.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_stdout?.Completion ?? Task.CompletedTask, _stderr?.Completion ?? Task.CompletedTask).ConfigureAwait(false);
        _stdout?.CompleteReader();
        _stderr?.CompleteReader();
        _process.Dispose();
        _pumpCancellation.Dispose();
    }

    private Task BeginStop()
    {
        var existing = Volatile.Read(ref _stopTask);
        if (existing is not null)
        {
            return existing;
        }

        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        existing = Interlocked.CompareExchange(ref _stopTask, created.Task, null);
        if (existing is not null)
        {
            return existing;
        }

        _ = RunStopAsync(created);
        return created.Task;
    }

    private async Task RunStopAsync(TaskCompletionSource done)
    {
        try
        {
            if (!HasExited && _gracePeriod > TimeSpan.Zero)
            {
                Terminate();

                // A timer may fire a hair before its due time: the grace period is over only when the clock says so, so an early
                // fire waits again for the rest instead of killing the child early.
                var started = _time.GetTimestamp();
                var remaining = _gracePeriod;
                while (remaining > TimeSpan.Zero)
                {
                    using var timer = new CancellationTokenSource();
                    var grace = Task.Delay(remaining, _time, timer.Token);
                    var first = await Task.WhenAny(_exited, grace).ConfigureAwait(false);
                    await timer.CancelAsync().ConfigureAwait(false);
                    if (first == _exited)
                    {
                        break;
                    }

                    remaining = _gracePeriod - _time.GetElapsedTime(started);
                }
            }

            // Also after a clean exit: whatever the child left running in its group (a grandchild) must not outlive the handle.
            Kill();
            await _exited.ConfigureAwait(false);
            done.TrySetResult();
        }
        catch (Exception ex)
        {
            done.TrySetException(ex);
        }
    }

    private bool SignalCore(int signal, bool toGroup)
    {
        Debug.Assert(!OperatingSystem.IsWindows(), "signals are POSIX only");
        if (toGroup && PosixNative.Kill(-Id, signal))
        {
            return true;
        }

        // No group yet (setsid has not run) or no group at all: signal the child itself while it is ours to signal.
        return !HasExited && PosixNative.Kill(Id, signal);
    }
}
