namespace FlowKit.Net;

/// <content><see cref="ServeAsync"/>: Trio's <c>serve_tcp</c> on a nursery.</content>
public sealed partial class SocketServer
{
    /// <summary>
    /// Serves every connection with <paramref name="handler"/>, each as a child of one nursery (Trio's <c>serve_tcp</c>). A handler that
    /// throws has its connection closed and is reported to <see cref="SocketServerOptions.OnConnectionFailed"/>; the server goes on.
    /// At most <see cref="SocketServerOptions.MaxConnections"/> run at once. Cancelling <paramref name="cancellationToken"/> stops
    /// accepting, cancels the handlers, and returns (throwing <see cref="OperationCanceledException"/>) only when every connection is closed;
    /// disposing the server does the same but returns normally.
    /// </summary>
    /// <param name="handler">Serves one connection; the stream is closed when it returns.</param>
    /// <param name="cancellationToken">Stops the server.</param>
    /// <returns>A task that completes when the server has stopped and every connection is closed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <example>
    /// <code>
    /// await server.ServeAsync(async (stream, ct) =>
    /// {
    ///     await foreach (var line in stream.ReadLinesAsync(4096, ct))
    ///     {
    ///         await stream.WriteLineAsync(line, ct);
    ///     }
    /// }, ct);
    /// </code>
    /// </example>
    public Task ServeAsync(Func<SocketStream, CancellationToken, Task> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return ServeCoreAsync(handler, cancellationToken);
    }

    private async Task ServeCoreAsync(Func<SocketStream, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        using var slots = new SemaphoreSlim(_options.MaxConnections, _options.MaxConnections);
        await Nursery.RunAsync(
            async nursery =>
            {
                var token = nursery.CancellationToken;
                using var onDispose = _stopping.Token.UnsafeRegister(static n => ((Nursery)n!).Cancel(), nursery);
                while (true)
                {
                    try
                    {
                        await slots.WaitAsync(token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (IsDisposed)
                    {
                        // Disposed while every slot was taken: stop as if the listener had been closed under an accept.
                        nursery.Cancel();
                        return;
                    }


                    SocketStream? stream;
                    try
                    {
                        stream = await AcceptOrRetryAsync(token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (IsDisposed && ex is ObjectDisposedException or OperationCanceledException)
                    {
                        slots.Release();
                        nursery.Cancel();
                        return;
                    }
                    catch
                    {
                        slots.Release();
                        throw;
                    }

                    if (stream is null)
                    {
                        slots.Release();
                        continue;
                    }

                    Interlocked.Increment(ref _active);
                    nursery.StartSoon(ct => RunConnectionAsync(stream, handler, slots, ct));
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task RunConnectionAsync(SocketStream stream, Func<SocketStream, CancellationToken, Task> handler, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        var remote = stream.RemoteEndPoint;
        try
        {
            if (_options.Tls is { } tls)
            {
                var plain = stream;
                try
                {
                    stream = await plain.AuthenticateAsServerAsync(tls, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException && ex is not ConnectionLimitException)
                {
                    // A peer that cannot complete the handshake (wrong protocol, no common cipher, reset): counted, not a handler failure.
                    Interlocked.Increment(ref _handshakeFailures);
                    return;
                }
            }

            await handler(stream, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The server is stopping: a cancelled handler is the expected way out.
        }
        catch (ConnectionLimitException)
        {
            // A peer over a limit (idle, too slow, handshake too long, too much buffered): already counted in the statistics.
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            if (_options.OnConnectionFailed is { } report)
            {
                await report(new ConnectionFailedContext(ex, remote)).ConfigureAwait(false);
            }
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            Interlocked.Decrement(ref _active);
            slots.Release();
        }
    }
}
