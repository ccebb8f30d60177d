namespace FlowKit;

/// <summary>A push source pulled through a bounded buffer; see <see cref="ObservableBridge.ToAsyncEnumerable{T}"/>.</summary>
internal sealed class ObservableAsyncEnumerable<T>(IObservable<T> source, int capacity, Overflow overflow, CancellationToken cancellationToken)
    : IAsyncEnumerable<T>
{
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken1 = default) =>
        new Enumerator(source, capacity, overflow, cancellationToken, cancellationToken1);

    private sealed class Enumerator : IAsyncEnumerator<T>, IObserver<T>
    {
        private static readonly IDisposable Unsubscribed = new NoSubscription();

        private readonly object _gate = new();
        private readonly Queue<T> _buffer = new();
        private readonly IObservable<T> _source;
        private readonly int _capacity;
        private readonly Overflow _overflow;
        private readonly CancellationToken _token1;
        private readonly CancellationToken _token2;
        private CancellationTokenRegistration _registration1;
        private CancellationTokenRegistration _registration2;
        private IDisposable? _subscription;
        private TaskCompletionSource? _waiter;
        private Exception? _error;
        private T _current = default!;
        private long _delivered;
        private bool _subscribed;
        private bool _completed;
        private bool _cancelled;
        private bool _disposed;
        private bool _moving;

        public Enumerator(IObservable<T> source, int capacity, Overflow overflow, CancellationToken token1, CancellationToken token2)
        {
            _source = source;
            _capacity = capacity;
            _overflow = overflow;
            _token1 = token1;
            _token2 = token2;
        }

        public T Current => _current;

        private bool IsTerminalLocked => _completed || _error is not null || _cancelled || _disposed;

        public ValueTask<bool> MoveNextAsync()
        {
            bool subscribe;
            lock (_gate)
            {
                if (_moving)
                {
                    throw new InvalidOperationException("MoveNextAsync was called while a previous call had not completed; enumerators are not thread-safe.");
                }

                subscribe = !_subscribed && !_disposed;
                _subscribed = true;
            }

            if (subscribe)
            {
                Subscribe();
            }

            if (TryMoveNext(out var result, out var waiter))
            {
                return new ValueTask<bool>(result);
            }

            return WaitThenMoveNextAsync(waiter!);
        }

        public ValueTask DisposeAsync()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return ValueTask.CompletedTask;
                }

                _disposed = true;
                _buffer.Clear();
                SignalLocked();
            }

            _registration1.Dispose();
            _registration2.Dispose();
            Unsubscribe();
            return ValueTask.CompletedTask;
        }

        public void OnNext(T value)
        {
            Exception? failed = null;
            lock (_gate)
            {
                if (IsTerminalLocked)
                {
                    return;
                }

                if (_buffer.Count >= _capacity)
                {
                    switch (_overflow)
                    {
                        case Overflow.DropOldest:
                            _buffer.Dequeue();
                            break;
                        case Overflow.DropNewest:
                            _delivered++;
                            return;
                        case Overflow.Fail:
                            failed = new BufferOverflowException(_capacity, _delivered);
                            break;
                        default:
                            if (EventLoop.Current is not null)
                            {
                                failed = new InvalidOperationException(
                                    "Overflow.Wait would block an event loop's thread inside OnNext, and the consumer may need that thread; use another policy or observe the source off the loop.");
                                break;
                            }

                            while (_buffer.Count >= _capacity && !IsTerminalLocked)
                            {
                                Monitor.Wait(_gate);
                            }

                            if (IsTerminalLocked)
                            {
                                return;
                            }

                            break;
                    }

                    if (failed is not null)
                    {
                        _error = failed;
                        SignalLocked();
                    }
                }

                if (failed is null)
                {
                    _delivered++;
                    _buffer.Enqueue(value);
                    SignalLocked();
                    return;
                }
            }

            Unsubscribe();
        }

        public void OnError(Exception error)
        {
            lock (_gate)
            {
                if (IsTerminalLocked)
                {
                    return;
                }

                _error = error ?? new ArgumentNullException(nameof(error));
                SignalLocked();
            }
        }

        public void OnCompleted()
        {
            lock (_gate)
            {
                if (IsTerminalLocked)
                {
                    return;
                }

                _completed = true;
                SignalLocked();
            }
        }

        private void Subscribe()
        {
            _registration1 = Register(_token1);
            _registration2 = Register(_token2);
            if (_overflow == Overflow.Wait)
            {
                // A synchronous source would block inside Subscribe; let it block a pool thread, not the consumer.
                ThreadPool.UnsafeQueueUserWorkItem(static e => e.SubscribeNow(), this, preferLocal: false);
            }
            else
            {
                SubscribeNow();
            }
        }

        private CancellationTokenRegistration Register(CancellationToken token) =>
            token.CanBeCanceled ? token.UnsafeRegister(static s => ((Enumerator)s!).Cancel(), this) : default;

        private void SubscribeNow()
        {
            if (Volatile.Read(ref _subscription) is not null)
            {
                return; // disposed, cancelled or failed before the subscription was made
            }

            IDisposable subscription;
            try
            {
                subscription = _source.Subscribe(this);
            }
            catch (Exception ex)
            {
                OnError(ex);
                return;
            }

            if (Interlocked.CompareExchange(ref _subscription, subscription, null) is not null)
            {
                subscription.Dispose();
            }
        }

        private void Unsubscribe() => Interlocked.Exchange(ref _subscription, Unsubscribed)?.Dispose();

        private void Cancel()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _cancelled = true;
                SignalLocked();
            }

            Unsubscribe();
        }

        private void SignalLocked()
        {
            Monitor.PulseAll(_gate);
            var waiter = _waiter;
            _waiter = null;
            waiter?.TrySetResult();
        }

        private bool TryMoveNext(out bool result, out Task? waiter)
        {
            lock (_gate)
            {
                waiter = null;
                result = false;
                if (_disposed)
                {
                    return true;
                }

                if (_cancelled)
                {
                    throw new OperationCanceledException(_token1.IsCancellationRequested ? _token1 : _token2);
                }

                if (_buffer.TryDequeue(out var item))
                {
                    _current = item;
                    Monitor.PulseAll(_gate);
                    result = true;
                    return true;
                }

                if (_error is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error);
                }

                if (_completed)
                {
                    return true;
                }

                _moving = true;
                _waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                waiter = _waiter.Task;
                return false;
            }
        }

        private async ValueTask<bool> WaitThenMoveNextAsync(Task waiter)
        {
            while (true)
            {
                await waiter.ConfigureAwait(false);
                lock (_gate)
                {
                    _moving = false;
                }

                if (TryMoveNext(out var result, out var next))
                {
                    return result;
                }

                waiter = next!;
            }
        }

        private sealed class NoSubscription : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
