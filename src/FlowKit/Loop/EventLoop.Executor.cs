namespace FlowKit;

public sealed partial class EventLoop
{
    /// <summary>
    /// Runs blocking <paramref name="work"/> off the loop (asyncio's <c>run_in_executor</c>): on <paramref name="executor"/>, for example a
    /// <c>ThreadExecutor</c>'s <c>Scheduler</c>, or on the thread pool when it is <see langword="null"/>. The returned task completes on the
    /// loop's thread, after the callbacks already queued, so a coroutine awaiting it never leaves the loop.
    /// </summary>
    /// <typeparam name="T">The work's result type.</typeparam>
    /// <param name="work">The blocking function; it must not touch loop-only state.</param>
    /// <param name="executor">Where the work runs; <see langword="null"/> means the thread pool.</param>
    /// <param name="cancellationToken">Cancels the work if it has not started yet.</param>
    /// <returns>The work's result, delivered on the loop.</returns>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    /// <example><code>var text = await loop.RunInExecutor(() => File.ReadAllText(path));</code></example>
    public Task<T> RunInExecutor<T>(Func<T> work, TaskScheduler? executor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ThrowIfClosed();
        var result = new ExecutorResult<T>(this);
        Task<T> running;
        try
        {
            running = Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.DenyChildAttach, executor ?? TaskScheduler.Default);
        }
        catch (Exception ex)
        {
            running = Task.FromException<T>(ex);
        }

        _ = running.ContinueWith(static (t, s) => ((ExecutorResult<T>)s!).Deliver(t), result, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return result.Task;
    }

    /// <summary>Runs blocking <paramref name="work"/> off the loop (asyncio's <c>run_in_executor</c>); completes on the loop's thread.</summary>
    /// <param name="work">The blocking action.</param>
    /// <param name="executor">Where the work runs; <see langword="null"/> means the thread pool.</param>
    /// <param name="cancellationToken">Cancels the work if it has not started yet.</param>
    /// <returns>A task that completes on the loop once the work has finished.</returns>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    public Task RunInExecutor(Action work, TaskScheduler? executor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return RunInExecutor(() =>
        {
            work();
            return true;
        }, executor, cancellationToken);
    }

    /// <summary>Carries a finished executor task back to the loop; if the loop has closed meanwhile, completes it where it is.</summary>
    private sealed class ExecutorResult<T>(EventLoop loop) : TaskCompletionSource<T>
    {
        private Task<T>? _finished;

        public void Deliver(Task<T> finished)
        {
            _finished = finished;
            loop.Enqueue(WorkItem.ForPost(static s => ((ExecutorResult<T>)s!).Complete(), this), throwIfClosed: false);
        }

        private void Complete()
        {
            var t = _finished!;
            if (t.IsCanceled)
            {
                TrySetCanceled(CancellationTokenOf(t));
            }
            else if (t.IsFaulted)
            {
                TrySetException(t.Exception!.InnerExceptions);
            }
            else
            {
                TrySetResult(t.Result);
            }
        }

        private static CancellationToken CancellationTokenOf(Task<T> t)
        {
            try
            {
                t.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException oce)
            {
                return oce.CancellationToken;
            }

            return CancellationToken.None;
        }
    }
}
