using System.Threading.Channels;

namespace FlowKit.Flows;

/// <summary>
/// The reorder window of an ordered parallel stage. The upstream takes a window slot per item (so at most <see cref="Size"/> items are between
/// admission and emission) and tags it with a sequence number; workers process items in any order and park results in the ring; whoever holds
/// the gate emits the ready prefix in sequence order.
/// </summary>
internal sealed class OrderedWindow<T, TResult>
{
    private readonly SemaphoreSlim _free;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Slot[] _slots;
    private readonly Channel<(long Sequence, T Item)> _channel;
    private long _admitted;
    private long _next;

    private readonly FlowRun _run;

    public OrderedWindow(FlowRun run, int size, Emitter<TResult> downstream, int workers)
    {
        _run = run;
        Size = size;
        Downstream = downstream;
        Workers = workers;
        _free = new SemaphoreSlim(size, size);
        _slots = new Slot[size];

        // Admission is bounded by the window, so this channel never holds more than Size items.
        _channel = Channel.CreateUnbounded<(long, T)>(new UnboundedChannelOptions { SingleWriter = true });
        run.CloseOnStop(_channel.Writer);
    }

    public int Size { get; }

    public Emitter<TResult> Downstream { get; }

    public ChannelReader<(long Sequence, T Item)> Reader => _channel.Reader;

    // A field, not a property: the workers decrement it with Interlocked.
    public int Workers;

    public int InUse() => Size - _free.CurrentCount;

    public ValueTask AdmitAsync(T item, CancellationToken cancellationToken)
    {
        if (_free.Wait(0, CancellationToken.None))
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

    public async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                var index = _next % Size;
                var state = Volatile.Read(ref _slots[index].State);
                if (state == Slot.Empty)
                {
                    return;
                }

                var value = _slots[index].Value;
                _slots[index].Value = default!;
                Volatile.Write(ref _slots[index].State, Slot.Empty);
                _next++;
                _free.Release();
                if (state == Slot.Ready)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await Downstream.EmitAsync(value, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
        {
            // A failure stops the run before the gate opens, so no other worker emits after it.
            _run.Stop();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask AdmitSlowAsync(T item, CancellationToken cancellationToken)
    {
        await _free.WaitAsync(cancellationToken).ConfigureAwait(false);
        _channel.Writer.TryWrite((_admitted++, item));
    }

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
