namespace FlowKit;

/// <summary>A callback scheduled with <see cref="EventLoop.CallLater"/> or <see cref="EventLoop.CallAt"/> (asyncio's <c>TimerHandle</c>).
/// Disposing it cancels the callback if it has not run yet.</summary>
public sealed class LoopTimerHandle : IDisposable
{
    private readonly EventLoop.LoopTimer _timer;

    internal LoopTimerHandle(EventLoop.LoopTimer timer) => _timer = timer;

    /// <summary>When the callback is due, on the loop's clock (asyncio's <c>TimerHandle.when()</c>).</summary>
    public DateTimeOffset When => _timer.When;

    /// <summary>True once the callback was cancelled, has started running, or was dropped because the loop closed.</summary>
    public bool IsDone => _timer.IsDone;

    /// <summary>True when the callback was cancelled (or dropped at close) before it ran (asyncio's <c>cancelled()</c>).</summary>
    public bool IsCancelled => _timer.IsCancelled;

    /// <summary>Cancels the callback if it has not started yet; a callback already running finishes. Idempotent and thread-safe.</summary>
    public void Cancel() => _ = _timer.Loop.CancelTimer(_timer);

    /// <summary>Same as <see cref="Cancel"/>.</summary>
    public void Dispose() => Cancel();
}
