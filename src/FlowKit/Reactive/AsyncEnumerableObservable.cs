namespace FlowKit;

/// <summary>An async stream as a cold observable: one enumeration per subscription, cancelled on dispose.</summary>
internal sealed class AsyncEnumerableObservable<T>(IAsyncEnumerable<T> source) : IObservable<T>
{
    public IDisposable Subscribe(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var subscription = new Subscription(source, observer);
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Start(), subscription, preferLocal: false);
        return subscription;
    }

    private sealed class Subscription(IAsyncEnumerable<T> source, IObserver<T> observer) : IDisposable
    {
        private readonly CancellationTokenSource _cts = new();

        // Held while calling the observer, so calls never overlap and none starts after Dispose returns.
        private readonly object _gate = new();
        private bool _stopped;

        public void Start() => _ = RunAsync();

        public void Dispose()
        {
            lock (_gate)
            {
                if (_stopped)
                {
                    return;
                }

                _stopped = true;
            }

            _cts.Cancel();
        }

        private async Task RunAsync()
        {
            Exception? error = null;
            try
            {
                if (!Volatile.Read(ref _stopped))
                {
                    await foreach (var item in source.WithCancellation(_cts.Token).ConfigureAwait(false))
                    {
                        lock (_gate)
                        {
                            if (_stopped)
                            {
                                break;
                            }

                            observer.OnNext(item);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested)
            {
                // Disposed: the subscriber no longer listens.
            }
            catch (Exception ex)
            {
                error = ex;
            }

            lock (_gate)
            {
                if (_stopped)
                {
                    return;
                }

                _stopped = true;
                if (error is null)
                {
                    observer.OnCompleted();
                }
                else
                {
                    observer.OnError(error);
                }
            }
        }
    }
}
