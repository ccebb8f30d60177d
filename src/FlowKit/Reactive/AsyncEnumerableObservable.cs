using System.Runtime.ExceptionServices;

namespace FlowKit;

/// <summary>An async stream as a cold observable: one enumeration per subscription, cancelled on dispose.</summary>
/// <remarks>An exception thrown by the observer's own <c>OnNext</c> follows Rx's rule: it is not routed to that observer's <c>OnError</c>
/// (nor is <c>OnCompleted</c> called); the enumeration stops, the stream is disposed, and the exception propagates to whoever drove the
/// <c>OnNext</c> call: this subscription's task, which nobody awaits, so it is raised as
/// <see cref="TaskScheduler.UnobservedTaskException"/>.</remarks>
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
        private bool _finished;

        // Deliberately not awaited: its only fault is the observer's own exception, which is meant to surface as unobserved.
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

                // Cancelled under the lock, so it never races the run disposing the source once it has finished.
                if (!_finished)
                {
                    _cts.Cancel();
                }
            }
        }

        private async Task RunAsync()
        {
            Exception? error = null;
            ExceptionDispatchInfo? observerError = null;
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

                            try
                            {
                                observer.OnNext(item);
                            }
                            catch (Exception ex)
                            {
                                observerError = ExceptionDispatchInfo.Capture(ex);
                                _stopped = true;
                            }
                        }

                        if (observerError is not null)
                        {
                            break;
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
            finally
            {
                lock (_gate)
                {
                    _finished = true;
                }

                _cts.Dispose();
            }

            // The observer's own exception: no terminal call; it propagates to this task (see the remarks). If disposing the stream failed
            // as well, the observer's exception still comes first.
            observerError?.Throw();

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
