namespace FlowKit;

/// <summary>
/// The disposed flag of one channel clone, plus a token cancelled when the clone is disposed, so operations blocked on that clone
/// end with <see cref="ObjectDisposedException"/> (Trio's <c>ClosedResourceError</c>) even while other clones keep the channel open.
/// The token source is created only when an operation first has to wait.
/// </summary>
internal sealed class ChannelCloneLifetime
{
    private CancellationTokenSource? _closing;
    private int _disposed;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>A token cancelled when the clone is disposed (already cancelled if it is).</summary>
    public CancellationToken ClosingToken
    {
        get
        {
            var closing = Volatile.Read(ref _closing);
            if (closing is null)
            {
                var created = new CancellationTokenSource();
                closing = Interlocked.CompareExchange(ref _closing, created, null) ?? created;
                if (closing != created)
                {
                    created.Dispose();
                }
            }

            // Disposed while the source was being created: Dispose may have missed it.
            if (IsDisposed)
            {
                closing.Cancel();
            }

            return closing.Token;
        }
    }

    /// <summary>Marks the clone disposed and wakes its blocked operations; true only the first time.</summary>
    public bool TryDispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return false;
        }

        Volatile.Read(ref _closing)?.Cancel();
        return true;
    }

    /// <summary>Maps a cancellation of the linked token: the caller's token wins; otherwise the clone was disposed.</summary>
    public Exception TranslateCancellation(OperationCanceledException error, CancellationToken callerToken, object clone) =>
        callerToken.IsCancellationRequested
            ? new OperationCanceledException(error.Message, error, callerToken)
            : new ObjectDisposedException(clone.GetType().Name, "The channel clone was disposed while this operation waited.");
}
