using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.TestUtilities;

/// <summary>An <see cref="EventLoop"/> on a <see cref="FakeTimeProvider"/>, running forever on a background thread until disposed.</summary>
internal sealed class LoopTestHost : IAsyncDisposable
{
    private readonly Task _run;

    public LoopTestHost(FakeTimeProvider? time = null)
    {
        Time = time ?? new FakeTimeProvider();
        Loop = new EventLoop(Time);
        _run = Task.Factory.StartNew(Loop.RunForever, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        // WaitAllTasksBlockedAsync also completes for a loop that is not running yet: make sure it runs before the test starts.
        SpinWait.SpinUntil(() => Loop.IsRunning || _run.IsCompleted);
    }

    public FakeTimeProvider Time { get; }

    public EventLoop Loop { get; }

    /// <summary>Runs <paramref name="func"/> on the loop and returns its result.</summary>
    public Task<T> OnLoop<T>(Func<T> func)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Loop.CallSoon(() =>
        {
            try
            {
                tcs.SetResult(func());
            }
            catch (Exception ex)
            {
                tcs.SetException(ex);
            }
        });
        return tcs.Task;
    }

    /// <summary>Advances the fake clock, then waits until the loop has run what that set off.</summary>
    public async Task AdvanceAsync(TimeSpan delta)
    {
        await Loop.WaitAllTasksBlockedAsync();
        Time.Advance(delta);
        await Loop.WaitAllTasksBlockedAsync();
    }

    public async ValueTask DisposeAsync()
    {
        // Stop may land before RunForever has begun; keep asking until the run has ended.
        while (!_run.IsCompleted)
        {
            Loop.Stop();
            await Task.WhenAny(_run, Loop.WaitAllTasksBlockedAsync());
            await Task.Yield();
        }

        await _run;
        Loop.Dispose();
    }
}
