using System.Threading.Channels;
using System.Threading.Tasks.Sources;

namespace FlowKit.Flows;

/// <summary>
/// The reorder window of an ordered parallel stage. The upstream takes a window slot per item (so at most <see cref="Size"/> items are between
/// admission and emission) and tags it with a sequence number; workers process items in any order and park results in the ring; one worker
/// at a time (whoever raised the drain request count from zero) emits the ready prefix in sequence order.
/// </summary>
/// <remarks>
/// Nothing here allocates per item: the free-slot count is an int, the single producer waits on a reusable value-task source and is woken
/// only once a quarter of the window is free again (so a full window does not wake it once per item), and the drain needs no lock.
/// </remarks>
internal sealed class OrderedWindow<T, TResult> : IValueTaskSource
{
    private readonly Slot[] _slots;
    private readonly Channel<(long Sequence, T Item)> _channel;
    private readonly int _wakeThreshold;
    private readonly FlowRun _run;
    private ManualResetValueTaskSourceCore<bool> _admission = new() { RunContinuationsAsynchronously = true };
    private int _free;
    private int _producerWaiting;
    private int _drainRequests;
    private long _admitted;
    private long _next;

    public OrderedWindow(FlowRun run, int size, Emitter<TResult> downstream, int workers)
    {
        _run = run;
        Size = size;
        Downstream = downstream;
        Workers = workers;
        _free = size;
        _wakeThreshold = Math.Max(1, size / 4);
        _slots = new Slot[size];

        // Admission is bounded by the window, so this channel never holds more than Size items.
        _channel = Channel.CreateUnbounded<(long, T)>(new UnboundedChannelOptions { SingleWriter = true });
        run.CloseOnStop(_channel.Writer);
        run.OnStop(WakeProducerOnStop);
    }

    public int Size { get; }

    public Emitter<TResult> Downstream { get; }

    public ChannelReader<(long Sequence, T Item)> Reader => _channel.Reader;

    // A field, not a property: the workers decrement it with Interlocked.
    public int Workers;

    public int InUse() => Size - Volatile.Read(ref _free);

    public ValueTask AdmitAsync(T item, CancellationToken cancellationToken)
    {
        if (TryTakeSlot())
        {
            _channel.Writer.TryWrite((_admitted++, item));
            return default;
        }

        return AdmitSlowAsync(item, cancellationToken);
    }

    public void Complete() => _channel.Writer.TryComplete();

    public void Place(long sequence, bool ok, TResult value)
    {
        ref var slot = ref _slots[sequence % Size];
        slot.Value = value;
        Volatile.Write(ref slot.State, ok ? Slot.Ready : Slot.Dropped);
    }

    /// <summary>Emits the ready prefix. If another worker is draining, it returns at once: that worker drains again before it stops,
    /// so the result just placed is not left behind.</summary>
    public ValueTask DrainAsync(CancellationToken cancellationToken) =>
        Interlocked.Increment(ref _drainRequests) == 1 ? DrainCoreAsync(cancellationToken) : default;

    private async ValueTask DrainCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            var requests = 1;
            while (true)
            {
                var index = (int)(_next % Size);
                var state = Volatile.Read(ref _slots[index].State);
                if (state == Slot.Empty)
                {
                    // Done unless another worker asked for a drain meanwhile (it placed a result after we looked).
                    requests = Interlocked.Add(ref _drainRequests, -requests);
                    if (requests == 0)
                    {
                        return;
                    }

                    continue;
                }

                var value = _slots[index].Value;
                _slots[index].Value = default!;
                Volatile.Write(ref _slots[index].State, Slot.Empty);
                _next++;
                ReleaseSlot();
                if (state == Slot.Ready)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await Downstream.EmitAsync(value, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
        {
            // A failure stops the run; the drain request count stays raised, so no other worker emits after it.
            _run.Stop();
            throw;
        }
    }

    private bool TryTakeSlot()
    {
        var free = Volatile.Read(ref _free);
        while (free > 0)
        {
            var seen = Interlocked.CompareExchange(ref _free, free - 1, free);
            if (seen == free)
            {
                return true;
            }

            free = seen;
        }

        return false;
    }

    private void ReleaseSlot()
    {
        if (Interlocked.Increment(ref _free) >= _wakeThreshold && Volatile.Read(ref _producerWaiting) == 1
            && Interlocked.Exchange(ref _producerWaiting, 0) == 1)
        {
            _admission.SetResult(true);
        }
    }

    private void WakeProducerOnStop(CancellationToken token)
    {
        if (Interlocked.Exchange(ref _producerWaiting, 0) == 1)
        {
            _admission.SetException(new OperationCanceledException("The flow stopped.", token));
        }
    }

    private async ValueTask AdmitSlowAsync(T item, CancellationToken cancellationToken)
    {
        while (!TryTakeSlot())
        {
            _admission.Reset();
            Interlocked.Exchange(ref _producerWaiting, 1);

            // Look again after announcing the wait: a slot freed (or a stop) before the announcement would not wake us.
            if ((Volatile.Read(ref _free) > 0 || cancellationToken.IsCancellationRequested) && Interlocked.Exchange(ref _producerWaiting, 0) == 1)
            {
                cancellationToken.ThrowIfCancellationRequested();
                continue;
            }

            await new ValueTask(this, _admission.Version).ConfigureAwait(false);
        }

        _channel.Writer.TryWrite((_admitted++, item));
    }

    void IValueTaskSource.GetResult(short token) => _admission.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _admission.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _admission.OnCompleted(continuation, state, token, flags);

    private struct Slot
    {
        public const int Empty = 0;
        public const int Ready = 1;
        public const int Dropped = 2;

        public TResult Value;
        public int State;
    }
}

/// <summary>The emitter in front of an ordered parallel stage.</summary>
internal sealed class OrderedInput<T, TResult>(OrderedWindow<T, TResult> window) : Emitter<T>
{
    public override ValueTask EmitAsync(T item, CancellationToken cancellationToken) => window.AdmitAsync(item, cancellationToken);

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        window.Complete();
        return default;
    }
}
