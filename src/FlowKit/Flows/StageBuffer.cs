using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using System.Threading.Tasks.Sources;

namespace FlowKit.Flows;

/// <summary>
/// What a writer that batches its wake-ups sees of the buffer at the end of its emitter chain: whether the reader is parked (so items it
/// wrote since may not be announced yet) and how to announce them. See <see cref="WakeBatcher"/>.
/// </summary>
internal abstract class DeferredWakeTarget
{
    /// <summary>1 while the reader is parked; whoever moves it back to 0 (by compare-exchange) owns completing the reader's wait.</summary>
    private protected int _readerWaiting;

    /// <summary>Whether the reader is parked: right after a batched write this means the write was held back.</summary>
    public bool HasWaitingReader => Volatile.Read(ref _readerWaiting) != 0;

    /// <summary>Called once by the single writer before its first write: from then on a write may leave a parked reader unannounced until a
    /// batch's worth is buffered, the buffer fills, or <see cref="Flush"/>. The writer promises to flush before it waits for anything.</summary>
    public abstract void DeferWakes();

    /// <summary>Wakes a parked reader if what it waits for has been written.</summary>
    public abstract void Flush();
}

/// <summary>
/// The bounded single-reader, single-writer buffer in front of a one-worker stage: a lock-free ring whose reader and writer positions live
/// on separate cache lines and are read across only when a side runs out (room or items). A writer blocked on a full buffer is woken only
/// once the reader has drained it to half, and a writer that batches its wake-ups (<see cref="DeferWakes"/>) wakes a parked reader once a
/// quarter of the capacity is buffered or it flushes, so a busy pipeline hops threads once per batch, not once per item. Both waits reuse one
/// value-task source each, so nothing is allocated per wait.
/// </summary>
/// <remarks>Completing it with an error (the run stopping) lets the reader drain what is left, then throws that error from
/// <see cref="WaitToReadAsync"/>; a blocked or later writer gets it at once. Parking follows one rule on both sides: announce the wait
/// (an interlocked write), then look again at what it waits for and un-park itself if it is there, so of two threads racing to park and to
/// wake, at least one sees the other.</remarks>
internal sealed class StageBuffer<T> : DeferredWakeTarget
{
    private static readonly object CompletedWithoutError = new();

    private readonly T[] _ring;
    private readonly int _mask;
    private readonly int _capacity;
    private readonly int _wakeWriterAt;
    private readonly int _wakeReaderAt;
    private readonly Waiter _readerWaiter = new();
    private readonly Waiter _writerWaiter = new();
    private StageBufferPositions _positions;
    private int _writerWaiting;
    private int _wakePending;
    private int _readerNeeds = 1;
    private bool _deferWakes;
    private object? _completion;
    private T _parked = default!;

    public StageBuffer(int capacity)
    {
        _capacity = capacity;
        _ring = new T[(int)BitOperations.RoundUpToPowerOf2((uint)capacity)];
        _mask = _ring.Length - 1;
        _wakeWriterAt = capacity / 2;
        _wakeReaderAt = Math.Max(1, capacity / 4);
    }

    /// <summary>The items buffered now (a snapshot for metrics).</summary>
    public int Count => (int)Math.Clamp(Volatile.Read(ref _positions.Tail) - Volatile.Read(ref _positions.Head), 0, _capacity);

    public override void DeferWakes() => _deferWakes = true;

    public override void Flush()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _readerWaiting) != 0 && Volatile.Read(ref _positions.Tail) - Volatile.Read(ref _positions.Head) >= Volatile.Read(ref _readerNeeds))
        {
            ClaimReader(true, null);
        }
    }

    /// <summary>Writes <paramref name="item"/>, waiting while the buffer is full (only the single writer calls this, never concurrently).</summary>
    /// <remarks>On a full buffer the item is parked and the writer announces itself; the reader moves the parked item in once it has
    /// drained the buffer to half and only then completes the write, so a wait allocates nothing.</remarks>
    public ValueTask WriteAsync(T item)
    {
        while (true)
        {
            switch (TryWriteCore(item))
            {
                case WriteResult.Written:
                    return default;
                case WriteResult.Completed:
                    return ValueTask.FromException(WriterError());
            }

            _parked = item;
            _writerWaiter.Core.Reset();
            Interlocked.Exchange(ref _writerWaiting, 1);

            // A full buffer satisfies any reader: do not leave it parked on items held back.
            if (Volatile.Read(ref _readerWaiting) != 0)
            {
                ClaimReader(true, null);
            }

            // Look again now that the wait is announced: the reader may have made room, or the run stopped, in between.
            if ((Volatile.Read(ref _completion) is not null || _positions.Tail - Volatile.Read(ref _positions.Head) < _capacity)
                && Interlocked.CompareExchange(ref _writerWaiting, 0, 1) == 1)
            {
                _parked = default!;
                continue;
            }

            // Parked (or already claimed by the reader or the stop, which complete the wait).
            return new ValueTask(_writerWaiter, _writerWaiter.Core.Version);
        }
    }

    public bool TryRead(out T item)
    {
        var head = _positions.Head;
        if (head == _positions.TailSeenByReader)
        {
            _positions.TailSeenByReader = Volatile.Read(ref _positions.Tail);
            if (head == _positions.TailSeenByReader)
            {
                item = default!;
                return false;
            }
        }

        var slot = (int)head & _mask;
        item = _ring[slot];
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            _ring[slot] = default!;
        }

        Volatile.Write(ref _positions.Head, head + 1);

        // Unfenced: a wake missed here is caught on a later read or, at the latest, when this reader parks (which looks with a fence).
        if (Volatile.Read(ref _writerWaiting) != 0 && Volatile.Read(ref _positions.Tail) - (head + 1) <= _wakeWriterAt)
        {
            ClaimWriter();
        }

        return true;
    }

    /// <summary>True when an item can be read (or after <see cref="WakeReader"/>), false once the buffer is completed and empty; throws the completion error instead of false.</summary>
    /// <param name="minCount">Wait until at least this many items are buffered (or the buffer completes, or <see cref="WakeReader"/>): a
    /// batching reader asks for the rest of its batch so that it is not woken once per item; at most the capacity.</param>
    public ValueTask<bool> WaitToReadAsync(int minCount = 1)
    {
        var needs = Math.Min(minCount, _capacity);
        while (true)
        {
            var head = _positions.Head;
            if (Volatile.Read(ref _positions.Tail) - head >= needs)
            {
                return new ValueTask<bool>(true);
            }

            if (Volatile.Read(ref _completion) is { } completion)
            {
                // Everything written before the completion is visible now.
                return Volatile.Read(ref _positions.Tail) - head > 0 ? new ValueTask<bool>(true)
                    : completion is Exception error ? ValueTask.FromException<bool>(error) : new ValueTask<bool>(false);
            }

            if (Interlocked.Exchange(ref _wakePending, 0) != 0)
            {
                return new ValueTask<bool>(true);
            }

            _readerNeeds = needs;
            _readerWaiter.Core.Reset();
            Interlocked.Exchange(ref _readerWaiting, 1);

            // A writer parked on a full buffer must not wait for a reader that is about to park (the reader's unfenced look may have missed it).
            if (Volatile.Read(ref _writerWaiting) != 0)
            {
                ClaimWriter();
            }

            if (Volatile.Read(ref _positions.Tail) - head >= needs || Volatile.Read(ref _completion) is not null || Volatile.Read(ref _wakePending) != 0)
            {
                if (Interlocked.CompareExchange(ref _readerWaiting, 0, 1) == 1)
                {
                    continue;
                }

                // Someone else claimed the wait: it completes it.
            }

            return new ValueTask<bool>(_readerWaiter, _readerWaiter.Core.Version);
        }
    }

    /// <summary>Wakes the reader without an item (its <see cref="WaitToReadAsync"/> returns true and <see cref="TryRead"/> may then fail):
    /// a timer's way to make the reader look at the clock. If the reader is not waiting, its next wait returns at once, so a tick that
    /// lands between the reader's look at the clock and its wait is not lost.</summary>
    public void WakeReader()
    {
        Volatile.Write(ref _wakePending, 1);
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _readerWaiting) != 0)
        {
            ClaimReader(true, null, clearWakePending: true);
        }
    }

    public bool TryComplete(Exception? error = null)
    {
        if (Interlocked.CompareExchange(ref _completion, (object?)error ?? CompletedWithoutError, null) is not null)
        {
            return false;
        }

        // Items still buffered (fewer than the reader asked for) are read first; the error, if any, comes once the buffer is empty.
        var hasItems = Volatile.Read(ref _positions.Tail) - Volatile.Read(ref _positions.Head) > 0;
        ClaimReader(hasItems, hasItems ? null : error);

        // Only the run stopping completes the buffer while its writer waits (the writer itself completes it normally): that write fails with the stop.
        FailWriter();
        return true;
    }

    private WriteResult TryWriteCore(T item)
    {
        if (Volatile.Read(ref _completion) is not null)
        {
            return WriteResult.Completed;
        }

        var tail = _positions.Tail;
        if (tail - _positions.HeadSeenByWriter >= _capacity)
        {
            _positions.HeadSeenByWriter = Volatile.Read(ref _positions.Head);
            if (tail - _positions.HeadSeenByWriter >= _capacity)
            {
                return WriteResult.Full;
            }
        }

        _ring[(int)tail & _mask] = item;
        Volatile.Write(ref _positions.Tail, tail + 1);
        if (!_deferWakes)
        {
            // Publish the item before looking at the reader's flag (it announces itself, then looks at the tail).
            Interlocked.MemoryBarrier();
        }

        if (Volatile.Read(ref _readerWaiting) != 0)
        {
            var needs = Volatile.Read(ref _readerNeeds);
            if (tail + 1 - Volatile.Read(ref _positions.Head) >= (_deferWakes ? Math.Max(needs, _wakeReaderAt) : needs))
            {
                ClaimReader(true, null);
            }
        }

        return WriteResult.Written;
    }

    private Exception WriterError() => Volatile.Read(ref _completion) as Exception ?? new ChannelClosedException();

    private void ClaimReader(bool result, Exception? error, bool clearWakePending = false)
    {
        if (Interlocked.CompareExchange(ref _readerWaiting, 0, 1) != 1)
        {
            return;
        }

        if (clearWakePending)
        {
            // The reader is still parked (its wait completes below), so it cannot have seen this tick: it is delivered by the wake itself.
            Volatile.Write(ref _wakePending, 0);
        }

        if (error is null)
        {
            _readerWaiter.Core.SetResult(result);
        }
        else
        {
            _readerWaiter.Core.SetException(error);
        }
    }

    /// <summary>On the reader's thread: moves a parked writer's item in and completes its write. Right after it freed a slot, unless the
    /// writer refilled the buffer and parked again in between (then it stays parked until the next look).</summary>
    private void ClaimWriter()
    {
        if (Interlocked.CompareExchange(ref _writerWaiting, 0, 1) != 1)
        {
            return;
        }

        // The writer is parked: the tail is still.
        var tail = Volatile.Read(ref _positions.Tail);
        if (tail - _positions.Head >= _capacity)
        {
            Volatile.Write(ref _writerWaiting, 1);
            Interlocked.MemoryBarrier();

            // A stop that came while the writer was claimed here did not see it waiting: fail it on the stop's behalf.
            if (Volatile.Read(ref _completion) is not null)
            {
                FailWriter();
            }

            return;
        }

        _ring[(int)tail & _mask] = _parked;
        _parked = default!;
        Volatile.Write(ref _positions.Tail, tail + 1);
        _writerWaiter.Core.SetResult(true);
    }

    private void FailWriter()
    {
        if (Interlocked.CompareExchange(ref _writerWaiting, 0, 1) == 1)
        {
            _parked = default!;
            _writerWaiter.Core.SetException(WriterError());
        }
    }

    private enum WriteResult
    {
        Written,
        Full,
        Completed,
    }

    private sealed class Waiter : IValueTaskSource<bool>, IValueTaskSource
    {
        public ManualResetValueTaskSourceCore<bool> Core = new() { RunContinuationsAsynchronously = true };

        public bool GetResult(short token) => Core.GetResult(token);

        void IValueTaskSource.GetResult(short token) => Core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => Core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            Core.OnCompleted(continuation, state, token, flags);
    }
}

/// <summary>The reader's and the writer's positions, each with its cached view of the other's, on cache lines of their own.</summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * CacheLine)]
internal struct StageBufferPositions
{
    private const int CacheLine = 128;

    [FieldOffset(CacheLine)]
    public long Head;

    [FieldOffset(CacheLine + 8)]
    public long TailSeenByReader;

    [FieldOffset(2 * CacheLine)]
    public long Tail;

    [FieldOffset(2 * CacheLine + 8)]
    public long HeadSeenByWriter;
}

/// <summary>
/// A writer loop's side of deferred wake-ups (see <see cref="DeferredWakeTarget"/>): call <see cref="StartItem"/> before producing each item,
/// <see cref="AfterEmit"/> after emitting it, and <see cref="Flush"/> before waiting for anything. Items are held back from a parked reader
/// only while they come fast: one item in 64 is timed, and a writer whose items take <see cref="SlowItem"/> or more announces every item
/// (a wake-up costs little next to such an item, and holding items back would only delay them). While items are held back, the clock is
/// read at the 1st, 2nd, 4th, 8th and 16th and they are flushed once they have waited <see cref="MaxDelay"/>, so an item waits at most for
/// about one more item of its writer.
/// </summary>
internal struct WakeBatcher
{
    private const int SampleEvery = 64;
    private static readonly long SlowItem = Stopwatch.Frequency / 20_000;
    private static readonly long MaxDelay = Stopwatch.Frequency / 5_000;
    private readonly DeferredWakeTarget? _target;
    private int _heldBack;
    private long _since;
    private int _untilSample;
    private long _sampleStarted;
    private bool _slow;

    public WakeBatcher(DeferredWakeTarget? target)
    {
        _target = target;
        _untilSample = SampleEvery;
        target?.DeferWakes();
    }

    public void StartItem()
    {
        if (_target is not null && --_untilSample <= 0)
        {
            _sampleStarted = Stopwatch.GetTimestamp();
        }
    }

    public void AfterEmit()
    {
        if (_target is null)
        {
            return;
        }

        if (_untilSample <= 0)
        {
            _slow = Stopwatch.GetTimestamp() - _sampleStarted >= SlowItem;
            _untilSample = SampleEvery;
        }

        if (_slow)
        {
            Flush();
            return;
        }

        if (!_target.HasWaitingReader)
        {
            _heldBack = 0;
            return;
        }

        var n = ++_heldBack;
        if ((n & (n - 1)) != 0)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        if (n == 1)
        {
            _since = now;
        }
        else if (now - _since >= MaxDelay)
        {
            // Slow items between samples: announce what waited, and time the next item.
            Flush();
            _untilSample = 1;
        }
    }

    /// <summary>Emits <paramref name="item"/> and counts it (<see cref="AfterEmit"/>); if the emit has to wait, flushes first and returns
    /// the wait. The caller awaits the result only when it is not already completed successfully.</summary>
    public ValueTask EmitAsync<T>(Emitter<T> downstream, T item, CancellationToken cancellationToken)
    {
        var emitted = downstream.EmitAsync(item, cancellationToken);
        if (emitted.IsCompletedSuccessfully)
        {
            AfterEmit();
            return default;
        }

        Flush();
        return emitted;
    }

    public void Flush()
    {
        if (_target is not null)
        {
            _target.Flush();
            _heldBack = 0;
        }
    }
}

/// <summary>Writes into a <see cref="StageBuffer{T}"/> the run owns: stopping the run completes it with an <see cref="OperationCanceledException"/>.</summary>
internal sealed class StageBufferEmitter<T>(StageBuffer<T> buffer) : Emitter<T>
{
    public override DeferredWakeTarget? WakeTarget => buffer;

    public override ValueTask EmitAsync(T item, CancellationToken cancellationToken) => buffer.WriteAsync(item);

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        buffer.TryComplete();
        return default;
    }
}
