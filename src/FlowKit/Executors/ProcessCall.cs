using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

using FlowKit.Internal;

namespace FlowKit;

/// <summary>One request to a worker process and the future that carries its outcome. States: queued in the executor, sent to a
/// worker, cancel requested (a cancel frame went out and a grace timer runs), finished.</summary>
internal abstract class ProcessCall
{
    private const int Queued = 0;
    private const int Sent = 1;
    private const int CancelSent = 2;
    private const int Finished = 3;

    private static long s_nextId;

    private readonly object _gate = new();
    private CancellationTokenRegistration _registration;
    private ExecutorsDeadlineTimer? _graceTimer;
    private int _state;

    protected ProcessCall(byte[] name, string workName, CancellationToken token)
    {
        Id = Interlocked.Increment(ref s_nextId);
        Name = name;
        WorkName = workName;
        Token = token;
    }

    public long Id { get; }

    public byte[] Name { get; }

    public string WorkName { get; }

    public CancellationToken Token { get; }

    public ProcessWorkerConnection? Worker { get; private set; }

    public bool CancelRequested
    {
        get
        {
            lock (_gate)
            {
                return _state == CancelSent || Token.IsCancellationRequested;
            }
        }
    }

    /// <summary>The request frame's length (after the length prefix).</summary>
    public abstract long RequestLength { get; }

    /// <summary>True once the call has its outcome (or was abandoned).</summary>
    public bool IsFinished
    {
        get
        {
            lock (_gate)
            {
                return _state == Finished;
            }
        }
    }

    /// <summary>Made before the call is published to the queue, so a call that finishes at once never leaves a registration
    /// behind on a long-lived token.</summary>
    public void RegisterCancellation()
    {
        if (Token.CanBeCanceled)
        {
            _registration = Token.UnsafeRegister(static s => ((ProcessCall)s!).RequestCancel(), this);
        }
    }

    public bool TryMarkSent(ProcessWorkerConnection worker)
    {
        lock (_gate)
        {
            if (_state != Queued)
            {
                return false;
            }

            _state = Sent;
            Worker = worker;
            return true;
        }
    }

    /// <summary>Cancels the call: a queued one finishes at once; a sent one gets a cancel frame and a grace period, after which
    /// its worker is killed.</summary>
    public void RequestCancel()
    {
        ProcessWorkerConnection? worker;
        lock (_gate)
        {
            switch (_state)
            {
                case Queued:
                    _state = Finished;
                    worker = null;
                    break;
                case Sent:
                    _state = CancelSent;
                    worker = Worker!;
                    _graceTimer = new ExecutorsDeadlineTimer(worker.Time, worker.CancellationGracePeriod, static s => ((ProcessCall)s!).GraceExpired(), this);
                    break;
                default:
                    return;
            }
        }

        if (worker is null)
        {
            _registration.Dispose();
            SetCanceled();
            return;
        }

        worker.SendCancel(Id);
    }

    /// <summary>The call was never published (the executor had shut down): drop its registration.</summary>
    public void Abandon() => TryFinish();

    public abstract void WriteRequest(IBufferWriter<byte> writer);

    /// <summary>Drops the serialised argument once its frame is written: the call may wait a long time for its reply.</summary>
    public abstract void ReleasePayload();

    public void CompleteFromFrame(ReadOnlySpan<byte> frame)
    {
        if (!TryFinish())
        {
            return;
        }

        var kind = frame[0];
        var body = frame[ExecutorsFrames.HeaderSize..];
        try
        {
            switch (kind)
            {
                case ExecutorsFrames.Result:
                case ExecutorsFrames.BatchResult:
                    SetResult(body);
                    break;
                case ExecutorsFrames.Canceled:
                    SetCanceled();
                    break;
                case ExecutorsFrames.Error:
                    var at = 0;
                    var type = Encoding.UTF8.GetString(ExecutorsFrames.ReadPart(body, ref at));
                    var message = Encoding.UTF8.GetString(ExecutorsFrames.ReadPart(body, ref at));
                    var stack = Encoding.UTF8.GetString(ExecutorsFrames.ReadPart(body, ref at));
                    SetException(new RemoteWorkException(type, message, stack, WorkName));
                    break;
                default:
                    SetException(new InvalidDataException($"Unknown reply kind {kind} from a worker process."));
                    break;
            }
        }
        catch (Exception e)
        {
            SetException(e);
        }
    }

    /// <summary>Fails a call whose worker died or was killed.</summary>
    public void FailWorkerLost(int processId, int exitCode, int? signal, string? protocolError = null)
    {
        var cancelled = CancelRequested;
        if (!TryFinish())
        {
            return;
        }

        if (cancelled)
        {
            SetCanceled();
        }
        else
        {
            SetException(new WorkerCrashedException(processId, exitCode, signal, WorkName, protocolError));
        }
    }

    public void Fail(Exception exception)
    {
        if (TryFinish())
        {
            SetException(exception);
        }
    }

    protected abstract void SetResult(ReadOnlySpan<byte> body);

    protected abstract void SetException(Exception exception);

    protected abstract void SetCanceledCore(CancellationToken token);

    /// <summary>The grace period after a cancel frame has run out: kill the worker, unless the reply came meanwhile.</summary>
    private void GraceExpired()
    {
        ProcessWorkerConnection? worker;
        lock (_gate)
        {
            if (_state != CancelSent)
            {
                return;
            }

            worker = Worker;
        }

        worker?.Kill();
    }

    private void SetCanceled() => SetCanceledCore(Token.IsCancellationRequested ? Token : new CancellationToken(true));

    private bool TryFinish()
    {
        ExecutorsDeadlineTimer? timer;
        lock (_gate)
        {
            if (_state == Finished)
            {
                return false;
            }

            _state = Finished;
            timer = _graceTimer;
        }

        _registration.Dispose();
        timer?.Dispose();
        return true;
    }
}

/// <summary>A call whose result is one <typeparamref name="TOut"/>.</summary>
internal sealed class ProcessCall<TOut>(byte[] name, string workName, byte[] payload, JsonTypeInfo<TOut> outputType, CancellationToken token)
    : ProcessCall(name, workName, token)
{
    private readonly TaskCompletionSource<TOut> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _length = ExecutorsFrames.CallLength(name.Length, payload.Length);
    private byte[] _payload = payload;

    public Task<TOut> Task => _tcs.Task;

    public override long RequestLength => _length;

    public override void WriteRequest(IBufferWriter<byte> writer) => ExecutorsFrames.WriteCall(writer, Id, Name, _payload);

    public override void ReleasePayload() => _payload = [];

    protected override void SetResult(ReadOnlySpan<byte> body) => _tcs.TrySetResult(JsonSerializer.Deserialize(body, outputType)!);

    protected override void SetException(Exception exception) => _tcs.TrySetException(exception);

    protected override void SetCanceledCore(CancellationToken token) => _tcs.TrySetCanceled(token);
}

/// <summary>A chunk of items sent in one frame; its result is one <typeparamref name="TOut"/> per item, in order.</summary>
internal sealed class ProcessBatchCall<TOut>(byte[] name, string workName, byte[][] payloads, JsonTypeInfo<TOut> outputType, CancellationToken token)
    : ProcessCall(name, workName, token)
{
    private readonly TaskCompletionSource<TOut[]> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _length = ExecutorsFrames.BatchLength(name.Length, payloads);
    private readonly int _count = payloads.Length;
    private byte[][] _payloads = payloads;

    public Task<TOut[]> Task => _tcs.Task;

    public override long RequestLength => _length;

    public override void WriteRequest(IBufferWriter<byte> writer) => ExecutorsFrames.WriteBatch(writer, Id, Name, _payloads);

    public override void ReleasePayload() => _payloads = [];

    protected override void SetResult(ReadOnlySpan<byte> body)
    {
        var count = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(body);
        if (count != _count)
        {
            throw new InvalidDataException($"A worker replied with {count} results to a chunk of {_count} items.");
        }

        var results = new TOut[count];
        var at = 4;
        for (var i = 0; i < count; i++)
        {
            results[i] = JsonSerializer.Deserialize(ExecutorsFrames.ReadPart(body, ref at), outputType)!;
        }

        _tcs.TrySetResult(results);
    }

    protected override void SetException(Exception exception) => _tcs.TrySetException(exception);

    protected override void SetCanceledCore(CancellationToken token) => _tcs.TrySetCanceled(token);
}
