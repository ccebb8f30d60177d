using System.Threading.Channels;
using System.Threading.Tasks.Sources;

namespace FlowKit.Flows;

/// <summary>
/// The bounded single-reader, single-writer buffer in front of a one-worker stage: a ring under a lock, like a bounded channel, but a writer
/// blocked on a full buffer is woken only once the reader has drained it to half (not once per freed slot, which made a full pipeline hop
/// threads for every item), and both waits reuse one value-task source each, so nothing is allocated per wait.
/// </summary>
/// <remarks>Completing it with an error (the run stopping) lets the reader drain what is left, then throws that error from
/// <see cref="WaitToReadAsync"/>; a blocked or later writer gets it at once.</remarks>
internal sealed class StageBuffer<T>
{
    private readonly object _lock = new();
    private readonly T[] _ring;
    private readonly int _wakeWriterAt;
    private readonly Waiter _readerWaiter = new();
    private readonly Waiter _writerWaiter = new();
    private int _head;
    private int _count;
    private bool _completed;
    private Exception? _error;
    private bool _readerWaiting;
    private bool _writerWaiting;
    private bool _wakePending;
    private int _readerNeeds = 1;
    private T _parked = default!;

    public StageBuffer(int capacity)
    {
        _ring = new T[capacity];
        _wakeWriterAt = capacity / 2;
    }

    public int Count => Volatile.Read(ref _count);

    public bool TryWrite(T item)
    {
        Waiter? wake = null;
        lock (_lock)
        {
            if (_completed || _count == _ring.Length)
            {
                return false;
            }

            Append(item);
            if (_readerWaiting && _count >= _readerNeeds)
            {
                _readerWaiting = false;
                wake = _readerWaiter;
            }
        }

        wake?.Core.SetResult(true);
        return true;
    }

    /// <summary>Writes <paramref name="item"/>, waiting while the buffer is full: the waiting item is parked and moved into the ring by the
    /// reader once it has drained to half, so the wait allocates nothing.</summary>
    public ValueTask WriteAsync(T item)
    {
        Waiter? wake = null;
        lock (_lock)
        {
            if (_completed)
            {
                return ValueTask.FromException(_error ?? new ChannelClosedException());
            }

            if (_count == _ring.Length)
            {
                _parked = item;
                _writerWaiter.Core.Reset();
                _writerWaiting = true;
                return new ValueTask(_writerWaiter, _writerWaiter.Core.Version);
            }

            Append(item);
            if (_readerWaiting && _count >= _readerNeeds)
            {
                _readerWaiting = false;
                wake = _readerWaiter;
            }
        }

        wake?.Core.SetResult(true);
        return default;
    }

    public bool TryRead(out T item)
    {
        Waiter? wake = null;
        lock (_lock)
        {
            if (_count == 0)
            {
                item = default!;
                return false;
            }

            item = _ring[_head];
            _ring[_head] = default!;
            _head = _head + 1 == _ring.Length ? 0 : _head + 1;
            _count--;
            if (_writerWaiting && _count <= _wakeWriterAt)
            {
                Append(_parked);
                _parked = default!;
                _writerWaiting = false;
                wake = _writerWaiter;
            }
        }

        wake?.Core.SetResult(true);
        return true;
    }

    /// <summary>True when an item can be read (or after <see cref="WakeReader"/>), false once the buffer is completed and empty; throws the completion error instead of false.</summary>
    /// <param name="minCount">Wait until at least this many items are buffered (or the buffer completes, or <see cref="WakeReader"/>): a
    /// batching reader asks for the rest of its batch so that it is not woken once per item; at most the capacity.</param>
    public ValueTask<bool> WaitToReadAsync(int minCount = 1)
    {
        lock (_lock)
        {
            if (_count >= minCount)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return _count > 0 ? new ValueTask<bool>(true)
                    : _error is null ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(_error);
            }

            if (_wakePending)
            {
                _wakePending = false;
                return new ValueTask<bool>(true);
            }

            _readerWaiter.Core.Reset();
            _readerNeeds = Math.Min(minCount, _ring.Length);
            _readerWaiting = true;
            return new ValueTask<bool>(_readerWaiter, _readerWaiter.Core.Version);
        }
    }

    /// <summary>Wakes the reader without an item (its <see cref="WaitToReadAsync"/> returns true and <see cref="TryRead"/> may then fail):
    /// a timer's way to make the reader look at the clock. If the reader is not waiting, its next wait returns at once, so a tick that
    /// lands between the reader's look at the clock and its wait is not lost.</summary>
    public void WakeReader()
    {
        Waiter? wake = null;
        lock (_lock)
        {
            if (_readerWaiting)
            {
                _readerWaiting = false;
                wake = _readerWaiter;
            }
            else
            {
                _wakePending = true;
            }
        }

        wake?.Core.SetResult(true);
    }

    public bool TryComplete(Exception? error = null)
    {
        Waiter? reader = null;
        Waiter? writer = null;
        bool hasItems;
        lock (_lock)
        {
            if (_completed)
            {
                return false;
            }

            _completed = true;
            _error = error;
            hasItems = _count > 0;
            if (_readerWaiting)
            {
                _readerWaiting = false;
                reader = _readerWaiter;
            }

            if (_writerWaiting)
            {
                _writerWaiting = false;
                _parked = default!;
                writer = _writerWaiter;
            }
        }

        if (reader is not null)
        {
            // Items still buffered (fewer than the reader asked for) are read first; the error, if any, comes once the buffer is empty.
            if (hasItems)
            {
                reader.Core.SetResult(true);
            }
            else
            {
                Signal(reader, error, false);
            }
        }

        if (writer is not null)
        {
            // Only the run stopping completes the buffer while its writer waits (the writer itself completes it normally).
            writer.Core.SetException(error ?? new ChannelClosedException());
        }

        return true;
    }

    private static void Signal(Waiter waiter, Exception? error, bool result)
    {
        if (error is null)
        {
            waiter.Core.SetResult(result);
        }
        else
        {
            waiter.Core.SetException(error);
        }
    }

    private void Append(T item)
    {
        var tail = _head + _count;
        _ring[tail >= _ring.Length ? tail - _ring.Length : tail] = item;
        _count++;
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

/// <summary>Writes into a <see cref="StageBuffer{T}"/> the run owns: stopping the run completes it with an <see cref="OperationCanceledException"/>.</summary>
internal sealed class StageBufferEmitter<T>(StageBuffer<T> buffer) : Emitter<T>
{
    public override ValueTask EmitAsync(T item, CancellationToken cancellationToken) => buffer.WriteAsync(item);

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        buffer.TryComplete();
        return default;
    }
}
