using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

using FlowKit.Internal;

namespace FlowKit;

/// <summary>Serves one worker process: a reader thread takes frames off stdin, an executor thread runs the items one at a time
/// in arrival order and writes each reply to stdout. Stdin's end (the parent closed it or died) ends the worker.</summary>
internal sealed class ProcessWorkerHost(ProcessWorkerRegistry registry, Stream input, Stream output, int maxFrame)
{
    private readonly BlockingCollection<Request> _requests = [];
    private readonly ConcurrentDictionary<long, Request> _live = new();
    private readonly ArrayBufferWriter<byte> _replies = new(4096);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = new Thread(static s => ((ProcessWorkerHost)s!).ReadLoop()) { IsBackground = true, Name = "FlowKit worker reader" };
        var executor = new Thread(static s => ((ProcessWorkerHost)s!).ExecuteLoop()) { IsBackground = true, Name = "FlowKit worker executor" };
        executor.Start(this);
        reader.Start(this);
        return _ended.Task.WaitAsync(cancellationToken);
    }

    private void ReadLoop()
    {
        try
        {
            using var stream = new BufferedStream(input, 1 << 16);
            Span<byte> lengthBytes = stackalloc byte[ExecutorsFrames.LengthSize];
            while (true)
            {
                if (stream.ReadAtLeast(lengthBytes, lengthBytes.Length, throwOnEndOfStream: false) < lengthBytes.Length)
                {
                    return;
                }

                var length = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
                if (length is < ExecutorsFrames.HeaderSize || length > maxFrame)
                {
                    // The parent checks sizes before sending, so this is a corrupt stream: say so, and end like a broken pipe.
                    Console.Error.WriteLine($"FlowKit worker {Environment.ProcessId}: a frame of {length} bytes from the parent is outside 9..{maxFrame} (ProcessExecutorOptions.MaxFrameBytes); exiting.");
                    return;
                }

                var frame = new byte[length];
                stream.ReadExactly(frame);
                Accept(frame);
            }
        }
        catch (EndOfStreamException)
        {
            // The parent is gone mid-frame: same as a clean end.
        }
        catch (IOException)
        {
            // A broken pipe: the parent is gone.
        }
        finally
        {
            _requests.CompleteAdding();
            foreach (var r in _live.Values)
            {
                r.Cancel();
            }

            _ended.TrySetResult();
        }
    }

    private void Accept(byte[] frame)
    {
        var kind = frame[0];
        var id = ExecutorsFrames.ReadId(frame);
        var body = frame.AsMemory(ExecutorsFrames.HeaderSize);
        if (kind == ExecutorsFrames.Cancel)
        {
            if (_live.TryGetValue(id, out var target))
            {
                target.Cancel();

                // An item still waiting behind another one is answered at once, so its grace period cannot run out while an
                // unrelated long item holds the worker (the parent would then kill that item's worker).
                if (target.TryClaim(Request.Answered))
                {
                    Reply(w => ExecutorsFrames.WriteEmpty(w, ExecutorsFrames.Canceled, id));
                }
            }

            return;
        }

        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(body.Span);
        var name = Encoding.UTF8.GetString(body.Span.Slice(2, nameLength));
        var request = new Request(id, kind, name, body[(2 + nameLength)..]);
        _live[id] = request;
        _requests.Add(request);
    }

    private void ExecuteLoop()
    {
        try
        {
            foreach (var request in _requests.GetConsumingEnumerable())
            {
                if (request.TryClaim(Request.Running))
                {
                    Execute(request);
                }

                _live.TryRemove(request.Id, out _);
                request.Dispose();
            }
        }
        catch (IOException)
        {
            // The parent stopped reading; the reader sees the end of stdin and ends the worker.
        }
    }

    private void Execute(Request request)
    {
        var token = request.Token;
        try
        {
            if (token.IsCancellationRequested)
            {
                Reply(w => ExecutorsFrames.WriteEmpty(w, ExecutorsFrames.Canceled, request.Id));
                return;
            }

            if (!registry.TryGet(request.Name, out var handler))
            {
                throw new KeyNotFoundException($"No work named '{request.Name}' is registered in this worker process.");
            }

            if (request.Kind == ExecutorsFrames.Call)
            {
                var result = handler.Invoke(request.Body.Span, token);
                CheckReplySize([result], batch: false, request.Name);
                Reply(w => ExecutorsFrames.WriteResult(w, request.Id, result));
            }
            else
            {
                var body = request.Body.Span;
                var count = BinaryPrimitives.ReadInt32LittleEndian(body);
                var at = 4;
                var results = new List<byte[]>(count);
                for (var i = 0; i < count; i++)
                {
                    token.ThrowIfCancellationRequested();
                    results.Add(handler.Invoke(ExecutorsFrames.ReadPart(body, ref at), token));
                }

                CheckReplySize(results, batch: true, request.Name);
                Reply(w => ExecutorsFrames.WriteBatchResult(w, request.Id, results));
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Reply(w => ExecutorsFrames.WriteEmpty(w, ExecutorsFrames.Canceled, request.Id));
        }
        catch (Exception e) when (e is not IOException)
        {
            // An error reply must fit the frame limit too: a huge message or stack is cut.
            var limit = Math.Max(256, maxFrame / 16);
            Reply(w => ExecutorsFrames.WriteError(w, request.Id, Cut(e.GetType().FullName ?? e.GetType().Name, limit), Cut(e.Message, limit), Cut(e.StackTrace ?? string.Empty, limit)));
        }
        finally
        {
            // The request's bytes are not needed any more; the request object may outlive this call in the live map briefly.
            request.Release();
        }
    }

    private static string Cut(string s, int max) => s.Length <= max ? s : string.Concat(s.AsSpan(0, max), " [cut]");

    /// <summary>A reply larger than the limit fails its call alone (the parent would refuse the frame and replace the worker).</summary>
    private void CheckReplySize(List<byte[]> results, bool batch, string name)
    {
        var length = ExecutorsFrames.ReplyLength(results, batch);
        if (length > maxFrame)
        {
            throw new InvalidOperationException(
                $"The result of '{name}' is {length} bytes as a reply frame, more than the {maxFrame} bytes ProcessExecutorOptions.MaxFrameBytes allows.");
        }
    }

    private void Reply(Action<IBufferWriter<byte>> write)
    {
        lock (_replies)
        {
            _replies.ResetWrittenCount();
            write(_replies);
            output.Write(_replies.WrittenSpan);
            output.Flush();
        }
    }

    private sealed class Request(long id, byte kind, string name, ReadOnlyMemory<byte> body) : IDisposable
    {
        private ReadOnlyMemory<byte> _body = body;

        public const int Queued = 0;
        public const int Running = 1;
        public const int Answered = 2;

        private readonly CancellationTokenSource _cts = new();
        private int _state;

        public long Id => id;

        public byte Kind => kind;

        public string Name => name;

        public ReadOnlyMemory<byte> Body => _body;

        public void Release() => _body = default;

        public CancellationToken Token => _cts.Token;

        /// <summary>Moves a queued request to <paramref name="state"/>; false when it already left the queue.</summary>
        public bool TryClaim(int state) => Interlocked.CompareExchange(ref _state, state, Queued) == Queued;

        public void Cancel()
        {
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Finished meanwhile.
            }
        }

        public void Dispose() => _cts.Dispose();
    }
}
