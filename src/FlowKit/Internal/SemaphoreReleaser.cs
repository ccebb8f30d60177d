namespace FlowKit.Internal;

/// <summary>What <c>AcquireAsync</c> of a semaphore-backed primitive returns: releases one slot, once, however often it is disposed.</summary>
internal sealed class SemaphoreReleaser(SemaphoreSlim semaphore) : IAsyncDisposable, IDisposable
{
    private int _released;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            semaphore.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }
}
