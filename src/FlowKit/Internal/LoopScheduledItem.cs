using System.Reactive.Concurrency;

namespace FlowKit.Internal;

/// <summary>One piece of Rx work scheduled on a FlowKit scheduler: runs at most once, not after it is disposed, and disposing it also
/// disposes what the action returned and cancels the timer that would have run it.</summary>
internal sealed class LoopScheduledItem<TState>(IScheduler scheduler, TState state, Func<IScheduler, TState, IDisposable> action) : IDisposable
{
    private static readonly IDisposable Disposed = new DisposedMarker();
    private IDisposable? _inner;
    private IDisposable? _timer;
    private int _started;

    public static readonly Action<object?> RunCallback = static s => ((LoopScheduledItem<TState>)s!).Run();

    public bool IsDisposed => ReferenceEquals(Volatile.Read(ref _inner), Disposed);

    public void SetTimer(IDisposable timer)
    {
        if (Interlocked.CompareExchange(ref _timer, timer, null) is not null || IsDisposed)
        {
            timer.Dispose();
        }
    }

    public void Run()
    {
        if (IsDisposed || Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        var result = action(scheduler, state);
        if (Interlocked.CompareExchange(ref _inner, result, null) is not null)
        {
            result.Dispose();
        }

        Interlocked.Exchange(ref _timer, Disposed)?.Dispose();
    }

    public void Dispose()
    {
        var inner = Interlocked.Exchange(ref _inner, Disposed);
        if (!ReferenceEquals(inner, Disposed))
        {
            inner?.Dispose();
        }

        var timer = Interlocked.Exchange(ref _timer, Disposed);
        if (!ReferenceEquals(timer, Disposed))
        {
            timer?.Dispose();
        }
    }

    private sealed class DisposedMarker : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
