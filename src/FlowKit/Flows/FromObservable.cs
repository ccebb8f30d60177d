using System.Threading.Channels;

using FlowKit.Flows;

namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// A flow over a push source, bridged by a buffer of <paramref name="capacity"/> items with an explicit <paramref name="overflow"/> policy:
    /// <see cref="Overflow.Wait"/> blocks the observable's thread in <c>OnNext</c> until there is room; the drop policies count each dropped item in
    /// the <c>items_dropped</c> metric; <see cref="Overflow.Fail"/> fails the flow with a <see cref="BufferOverflowException"/> (inside the <see cref="FlowStageException"/>). The subscription lives as long as the run.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The observable; subscribed once per run, from a task of the run (never from the caller's thread).</param>
    /// <param name="capacity">The bridge buffer: 1 to 1,048,576 items.</param>
    /// <param name="overflow">What happens when the buffer is full.</param>
    /// <returns>The flow.</returns>
    /// <example>
    /// <code>
    /// var ticks = Flow.From(Observable.Interval(TimeSpan.FromMilliseconds(10)), capacity: 100, Overflow.DropOldest);
    /// </code>
    /// </example>
    public static Flow<T> From<T>(IObservable<T> source, int capacity, Overflow overflow)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 20);
        if (!Enum.IsDefined(overflow))
        {
            throw new ArgumentOutOfRangeException(nameof(overflow), overflow, "overflow must be Wait, DropOldest, DropNewest or Fail.");
        }

        return new ObservableSource<T>(source, capacity, overflow);
    }

    private sealed class ObservableSource<T>(IObservable<T> source, int capacity, Overflow overflow) : SourceFlow<T>("From(IObservable)")
    {
        internal override string Details => $"capacity {capacity}, {overflow}";

        internal override int? InputCapacity => capacity;

        protected override async Task PumpAsync(StageContext stage, Emitter<T> downstream, CancellationToken cancellationToken)
        {
            var bridge = new Bridge(capacity, overflow, stage, cancellationToken);
            var reader = bridge.Reader;
            stage.Run.AddBuffer(stage.Name, capacity, () => reader.Count);
            stage.Run.Nursery.StartSoon(ct => bridge.SubscribeAsync(source, ct));
            while (true)
            {
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!StageContext.IsStopping(ex, cancellationToken))
                {
                    throw SourceFailed(stage, ex);
                }

                if (!more)
                {
                    break;
                }

                while (reader.TryRead(out var item))
                {
                    bridge.Taken();
                    stage.CountOut();
                    await downstream.EmitAsync(item, cancellationToken).ConfigureAwait(false);
                }
            }

            await downstream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        private sealed class Bridge : IObserver<T>
        {
            private readonly Channel<T> _channel;
            private readonly SemaphoreSlim? _space;
            private readonly Overflow _overflow;
            private readonly int _capacity;
            private readonly CancellationToken _stopping;
            private long _delivered;

            public Bridge(int capacity, Overflow overflow, StageContext stage, CancellationToken stopping)
            {
                _overflow = overflow;
                _capacity = capacity;
                _stopping = stopping;
                if (overflow == Overflow.Wait)
                {
                    // The semaphore is the bound: OnNext blocks on it, so the channel itself never holds more than capacity items.
                    _space = new SemaphoreSlim(capacity, capacity);
                    _channel = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
                }
                else
                {
                    var mode = overflow switch
                    {
                        Overflow.DropOldest => BoundedChannelFullMode.DropOldest,
                        Overflow.DropNewest => BoundedChannelFullMode.DropWrite,
                        _ => BoundedChannelFullMode.Wait,
                    };
                    _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = mode }, _ => stage.CountDropped());
                }
            }

            public ChannelReader<T> Reader => _channel.Reader;

            public void Taken() => _space?.Release();

            public async Task SubscribeAsync(IObservable<T> source, CancellationToken cancellationToken)
            {
                IDisposable? subscription = null;
                try
                {
                    subscription = source.Subscribe(this);
                    await _channel.Reader.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A source that throws from Subscribe, or completes with an error: the pump reports it as the flow's failure.
                    _channel.Writer.TryComplete(ex);
                }
                finally
                {
                    subscription?.Dispose();
                }
            }

            public void OnNext(T value)
            {
                switch (_overflow)
                {
                    case Overflow.Wait:
                        try
                        {
                            _space!.Wait(_stopping);
                        }
                        catch (OperationCanceledException)
                        {
                            return;
                        }

                        _channel.Writer.TryWrite(value);
                        break;
                    case Overflow.Fail:
                        if (_channel.Writer.TryWrite(value))
                        {
                            _delivered++;
                        }
                        else
                        {
                            _channel.Writer.TryComplete(new BufferOverflowException(_capacity, _delivered));
                        }

                        break;
                    default:
                        _channel.Writer.TryWrite(value);
                        break;
                }
            }

            public void OnError(Exception error) => _channel.Writer.TryComplete(error);

            public void OnCompleted() => _channel.Writer.TryComplete();
        }
    }
}
