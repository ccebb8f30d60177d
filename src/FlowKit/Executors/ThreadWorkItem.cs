namespace FlowKit;

/// <summary>One entry in a <see cref="ThreadExecutor"/>'s queue.</summary>
internal abstract class ThreadWorkItem
{
    /// <summary>Runs the item on a worker thread; never throws.</summary>
    public abstract void Run();

    /// <summary>Called by a cancelling shutdown for an item that never started.</summary>
    public abstract void CancelPending();
}

/// <summary>A submitted function and the task (future) that carries its outcome.</summary>
internal sealed class ThreadWorkItem<TIn, TOut> : ThreadWorkItem
{
    private const int Pending = 0;
    private const int Running = 1;
    private const int Finished = 2;

    private readonly ThreadExecutor _owner;
    private Func<TIn, CancellationToken, TOut>? _work;
    private TIn _input;
    private readonly CancellationToken _token;
    private readonly TaskCompletionSource<TOut> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _registration;
    private int _state;

    public ThreadWorkItem(ThreadExecutor owner, Func<TIn, CancellationToken, TOut> work, TIn input, CancellationToken token)
    {
        _owner = owner;
        _work = work;
        _input = input;
        _token = token;
    }

    public Task<TOut> Task => _tcs.Task;

    public void RegisterCancellation()
    {
        if (_token.CanBeCanceled)
        {
            _registration = _token.UnsafeRegister(static s => ((ThreadWorkItem<TIn, TOut>)s!).CancelFromToken(), this);
        }
    }

    public void Abandon()
    {
        Interlocked.Exchange(ref _state, Finished);
        _registration.Dispose();
        Release();
    }

    public override void Run()
    {
        if (Interlocked.CompareExchange(ref _state, Running, Pending) != Pending)
        {
            return;
        }

        try
        {
            var result = _work!(_input, _token);
            _tcs.TrySetResult(result);
        }
        catch (OperationCanceledException e) when (_token.IsCancellationRequested)
        {
            _tcs.TrySetCanceled(e.CancellationToken == _token ? _token : e.CancellationToken);
        }
        catch (Exception e)
        {
            _tcs.TrySetException(e);
        }
        finally
        {
            Volatile.Write(ref _state, Finished);
            _registration.Dispose();
            Release();
        }
    }

    public override void CancelPending()
    {
        if (Interlocked.CompareExchange(ref _state, Finished, Pending) == Pending)
        {
            _registration.Dispose();
            Release();
            _owner.CountCancelled();
            _tcs.TrySetCanceled(new CancellationToken(true));
        }
    }

    private void CancelFromToken()
    {
        if (Interlocked.CompareExchange(ref _state, Finished, Pending) == Pending)
        {
            Release();
            _owner.CountCancelled();
            _tcs.TrySetCanceled(_token);
        }
    }

    /// <summary>Drops the delegate and the input once the item can no longer run, so a queue slot or a stale reference to the
    /// item keeps neither alive (only the task holds the outcome).</summary>
    private void Release()
    {
        _work = null;
        _input = default!;
    }
}
