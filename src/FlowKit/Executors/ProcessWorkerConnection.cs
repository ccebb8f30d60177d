using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;

using FlowKit.Internal;

namespace FlowKit;

/// <summary>The parent's end of one worker process: its pipes, the calls it holds, and its in-flight slots.</summary>
internal sealed class ProcessWorkerConnection : IDisposable
{
    private readonly Process _process;
    private readonly Stream _input;
    private readonly Stream _output;
    private readonly Dictionary<long, ProcessCall> _held = [];
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _writeBuffer = new(4096);
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _maxFrame;
    private bool _dispatchDone;
    private int _killed;
    private string? _protocolError;

    private ProcessWorkerConnection(Process process, int slots, TimeProvider time, TimeSpan grace, int maxFrame)
    {
        _maxFrame = maxFrame;
        _process = process;
        ProcessId = process.Id;
        _input = process.StandardInput.BaseStream;
        _output = process.StandardOutput.BaseStream;
        Slots = new SemaphoreSlim(slots, slots);
        Time = time;
        CancellationGracePeriod = grace;
    }

    public int ProcessId { get; }

    public SemaphoreSlim Slots { get; }

    public TimeProvider Time { get; }

    public TimeSpan CancellationGracePeriod { get; }

    public int Assigned { get; set; }

    public bool WasKilled => Volatile.Read(ref _killed) != 0;

    public int HeldCount
    {
        get
        {
            lock (_held)
            {
                return _held.Count;
            }
        }
    }

    public static ProcessWorkerConnection Start(string fileName, IReadOnlyList<string> arguments, int slots, TimeProvider time, TimeSpan grace, int maxFrame)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        info.ArgumentList.Add(ProcessWorker.WorkerArgument);
        info.Environment[ExecutorsFrames.MaxFrameVariable] = maxFrame.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start worker process '{fileName}'.");
        return new ProcessWorkerConnection(process, slots, time, grace, maxFrame);
    }

    public void Hold(ProcessCall call)
    {
        lock (_held)
        {
            _held.Add(call.Id, call);
        }
    }

    public ProcessCall[] SnapshotHeld()
    {
        lock (_held)
        {
            return [.. _held.Values];
        }
    }

    public void MarkDispatchDone()
    {
        lock (_held)
        {
            _dispatchDone = true;
            if (_held.Count == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    /// <summary>Completes when the dispatcher has stopped and every held call has its reply, or when the reader has ended.</summary>
    public Task WhenIdle => _idle.Task;

    /// <summary>Serialises writes to the worker's stdin. The dispatcher holds it from marking calls sent until their frames are
    /// written, so a cancel frame can never overtake the request it cancels.</summary>
    public SemaphoreSlim WriteLock => _writeLock;

    /// <summary>Writes the calls' frames with one flush; the caller holds <see cref="WriteLock"/>.</summary>
    public async Task WriteCallsAsync(List<ProcessCall> calls, CancellationToken cancellationToken)
    {
        _writeBuffer.Clear();
        foreach (var call in calls)
        {
            // Sizes are checked at submit time; should one still not fit, it fails alone instead of taking the worker down.
            if (call.RequestLength > _maxFrame)
            {
                Release(call);
                call.Fail(new ArgumentException($"A request of {call.RequestLength} bytes is larger than the {_maxFrame} bytes ProcessExecutorOptions.MaxFrameBytes allows."));
                continue;
            }

            call.WriteRequest(_writeBuffer);
        }

        if (_writeBuffer.WrittenCount == 0)
        {
            return;
        }

        await _input.WriteAsync(_writeBuffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await _input.FlushAsync(cancellationToken).ConfigureAwait(false);

        // The buffer would otherwise keep the last requests' bytes (the arguments) until the next write.
        _writeBuffer.Clear();
        foreach (var call in calls)
        {
            call.ReleasePayload();
        }
    }

    /// <summary>Sends a cancel frame; never throws (a dead worker needs no cancel).</summary>
    public void SendCancel(long id) => _ = SendCancelAsync(id);

    /// <summary>Reads replies until the worker's stdout ends; never throws.</summary>
    public async Task ReadLoopAsync(Action onReply)
    {
        var reader = PipeReader.Create(_output, new StreamPipeReaderOptions(bufferSize: 1 << 16, minimumReadSize: 4096));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                while (ExecutorsFrames.TryReadFrame(ref buffer, _maxFrame, out var frame))
                {
                    Deliver(frame);
                    onReply();
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            if (e is InvalidDataException)
            {
                Volatile.Write(ref _protocolError, e.Message);
            }

            // A corrupt or broken pipe: the worker is killed below and its calls fail with the exit code.
            Kill();
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            _idle.TrySetResult();
        }
    }

    public void CloseInput()
    {
        try
        {
            _input.Dispose();
        }
        catch (IOException)
        {
            // Already broken: the worker is gone.
        }
    }

    public void Kill()
    {
        Interlocked.Exchange(ref _killed, 1);
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exiting right now.
        }
    }

    /// <summary>Waits for the process to exit, killing it once <paramref name="timeout"/> has elapsed (never before, even when
    /// the timer fires early); returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using (new ExecutorsDeadlineTimer(Time, timeout, static s => ((ProcessWorkerConnection)s!).Kill(), this))
        {
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        return _process.ExitCode;
    }

    /// <summary>Fails every call still held: the worker has exited.</summary>
    public void FailHeld(int exitCode)
    {
        ProcessCall[] held;
        lock (_held)
        {
            held = [.. _held.Values];
            _held.Clear();
        }

        int? signal = OperatingSystem.IsWindows() || exitCode <= 128 || exitCode > 128 + 64 ? null : exitCode - 128;
        var protocolError = Volatile.Read(ref _protocolError);
        foreach (var call in held)
        {
            call.FailWorkerLost(ProcessId, exitCode, signal, protocolError);
        }
    }

    public void Dispose()
    {
        CloseInput();
        _process.Dispose();
        _writeLock.Dispose();
        Slots.Dispose();
    }

    private void Release(ProcessCall call)
    {
        lock (_held)
        {
            if (!_held.Remove(call.Id))
            {
                return;
            }

            if (_dispatchDone && _held.Count == 0)
            {
                _idle.TrySetResult();
            }
        }

        Slots.Release();
    }

    private void Deliver(ReadOnlySequence<byte> frame)
    {
        ReadOnlySpan<byte> span = frame.IsSingleSegment ? frame.FirstSpan : frame.ToArray();
        var id = ExecutorsFrames.ReadId(span);
        ProcessCall? call;
        lock (_held)
        {
            if (_held.Remove(id, out call) && _dispatchDone && _held.Count == 0)
            {
                _idle.TrySetResult();
            }
        }

        if (call is null)
        {
            return;
        }

        Slots.Release();
        call.CompleteFromFrame(span);
    }

    private async Task SendCancelAsync(long id)
    {
        try
        {
            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                var buffer = new ArrayBufferWriter<byte>(32);
                ExecutorsFrames.WriteEmpty(buffer, ExecutorsFrames.Cancel, id);
                await _input.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
                await _input.FlushAsync().ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The worker is gone; its calls fail when its exit is seen.
        }
    }
}
