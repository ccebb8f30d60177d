using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace FlowKit.Net;

/// <summary>
/// A listening TCP or Unix-domain socket (Trio's listeners): accept connections one by one, as an <see cref="IAsyncEnumerable{T}"/>,
/// or serve each in its own task under a nursery with <see cref="ServeAsync"/> (Trio's <c>serve_tcp</c>).
/// </summary>
/// <example>
/// <code>
/// await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
/// Console.WriteLine($"listening on {server.LocalEndPoint.Port}");
/// await server.ServeAsync(async (stream, ct) =>
/// {
///     var buffer = new byte[16384];
///     int n;
///     while ((n = await stream.ReceiveSomeAsync(buffer, ct)) > 0)
///     {
///         await stream.SendAllAsync(buffer.AsMemory(0, n), ct);
///     }
/// }, ct);
/// </code>
/// </example>
[DebuggerDisplay("{EndPoint}, active = {_active}")]
public sealed partial class SocketServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly SocketServerOptions _options;
    private readonly string? _unixPath;

    // Cancelled by DisposeAsync: reaches what closing the listener cannot, such as ServeAsync waiting for a free connection slot.
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private int _active;
    private long _accepted;
    private long _failures;
    private long _abortedAccepts;
    private long _rejected;
    private long _handshakeTimeouts;
    private long _handshakeFailures;
    private long _idleTimeouts;
    private long _minDataRateCloses;
    private long _bufferLimitHits;

    // The connections whose limits the heartbeat checks, and the per-address counts (under _gate).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ConnectionGuard, byte> _guards = new();
    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private ITimer? _heartbeat;
    private int _beating;

    private SocketServer(Socket listener, SocketServerOptions options, string? unixPath)
    {
        _listener = listener;
        _options = options;
        _unixPath = unixPath;
        _time = options.TimeProvider ?? TimeProvider.System;
        EndPoint = listener.LocalEndPoint!;
        if (options.HasTimeLimits)
        {
            var period = options.HeartbeatPeriod;
            _heartbeat = _time.CreateTimer(static s => ((SocketServer)s!).Beat(), this, period, period);
        }
    }

    /// <summary>The bound TCP address and port (the actual port when 0 was asked for).</summary>
    /// <exception cref="InvalidOperationException">The server listens on a Unix-domain socket; use <see cref="EndPoint"/>.</exception>
    public IPEndPoint LocalEndPoint => EndPoint as IPEndPoint
        ?? throw new InvalidOperationException("A Unix-domain server has no IP endpoint; use EndPoint.");

    /// <summary>The bound endpoint: an <see cref="IPEndPoint"/> or a <see cref="UnixDomainSocketEndPoint"/>.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>For tests: replaces the listener's accept (to inject accept failures the kernel produces only under load).</summary>
    internal Func<Socket, CancellationToken, ValueTask<Socket>>? AcceptHook { get; set; }

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Listens for TCP connections on <paramref name="address"/> and <paramref name="port"/> (Trio's <c>open_tcp_listeners</c>).
    /// <see cref="IPAddress.IPv6Any"/> also accepts IPv4 clients.</summary>
    /// <param name="address">The local address, e.g. <see cref="IPAddress.Loopback"/> or <see cref="IPAddress.Any"/>.</param>
    /// <param name="port">The port, 0 to 65535; 0 picks a free one (read it from <see cref="LocalEndPoint"/>).</param>
    /// <param name="options">Limits and buffering; null for the defaults.</param>
    /// <returns>The listening server; dispose it to stop listening.</returns>
    /// <exception cref="SocketException">The address is in use or not available.</exception>
    /// <example>
    /// <code>
    /// await using var server = SocketServer.ListenTcp(IPAddress.Loopback, 0);
    /// </code>
    /// </example>
    public static SocketServer ListenTcp(IPAddress address, int port, SocketServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        var validated = (options ?? SocketServerOptions.Default).Validated();
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(validated.Backlog);
            return new SocketServer(socket, validated, null);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Listens on a Unix-domain socket at <paramref name="path"/>; the socket file is removed when the server is disposed.</summary>
    /// <param name="path">The socket's file path; it must not exist.</param>
    /// <param name="options">Limits and buffering; null for the defaults.</param>
    /// <returns>The listening server.</returns>
    public static SocketServer ListenUnix(string path, SocketServerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var validated = (options ?? SocketServerOptions.Default).Validated();
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(validated.Backlog);
            return new SocketServer(socket, validated, path);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the next connection and returns it; the caller owns (and disposes) the stream.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public async ValueTask<SocketStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        while (true)
        {
            Socket socket;
            try
            {
                socket = AcceptHook is { } hook
                    ? await hook(_listener, cancellationToken).ConfigureAwait(false)
                    : await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException) when (IsDisposed)
            {
                throw new ObjectDisposedException(nameof(SocketServer), "The server was disposed while accepting.");
            }

            if (Admit(socket) is { } stream)
            {
                return stream;
            }
        }
    }

    /// <summary>Accepts connections as they come, until cancelled or disposed (then the sequence simply ends). The consumer owns each
    /// stream and must dispose it.</summary>
    /// <param name="cancellationToken">Ends the sequence.</param>
    /// <returns>The accepted streams.</returns>
    public IAsyncEnumerable<SocketStream> AcceptAllAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return AcceptAllCoreAsync(cancellationToken);
    }

    /// <summary>A snapshot of the server's counters.</summary>
    /// <returns>The counters.</returns>
    public SocketServerStatistics GetStatistics() =>
        new(Volatile.Read(ref _active), Interlocked.Read(ref _accepted), Interlocked.Read(ref _failures), !IsDisposed)
        {
            AbortedAccepts = Interlocked.Read(ref _abortedAccepts),
            RejectedConnections = Interlocked.Read(ref _rejected),
            HandshakeTimeouts = Interlocked.Read(ref _handshakeTimeouts),
            HandshakeFailures = Interlocked.Read(ref _handshakeFailures),
            IdleTimeouts = Interlocked.Read(ref _idleTimeouts),
            MinDataRateCloses = Interlocked.Read(ref _minDataRateCloses),
            BufferLimitHits = Interlocked.Read(ref _bufferLimitHits),
            WatchedConnections = _guards.Count,
        };

    /// <summary>For tests: the connections the heartbeat checks.</summary>
    internal IEnumerable<ConnectionGuard> WatchedGuards() => _guards.Keys;

    internal void CountLimit(ConnectionLimit limit)
    {
        switch (limit)
        {
            case ConnectionLimit.HandshakeTimeout:
                Interlocked.Increment(ref _handshakeTimeouts);
                break;
            case ConnectionLimit.IdleTimeout:
                Interlocked.Increment(ref _idleTimeouts);
                break;
            case ConnectionLimit.MinDataRate:
                Interlocked.Increment(ref _minDataRateCloses);
                break;
            default:
                Interlocked.Increment(ref _bufferLimitHits);
                break;
        }
    }

    /// <summary>A guarded connection closed: stop watching it, free its per-address count, and stop the heartbeat once the server is
    /// disposed and nothing is left to watch.</summary>
    internal void Release(ConnectionGuard guard)
    {
        _guards.TryRemove(guard, out _);
        lock (_gate)
        {
            if (guard.Address is { } address && _perAddress.TryGetValue(address, out var count))
            {
                if (count <= 1)
                {
                    _perAddress.Remove(address);
                }
                else
                {
                    _perAddress[address] = count - 1;
                }
            }

            if (IsDisposed && _guards.IsEmpty)
            {
                _heartbeat?.Dispose();
                _heartbeat = null;
            }
        }
    }

    /// <summary>Stops listening. A running <see cref="ServeAsync"/> then cancels its handlers and returns once they have finished.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _listener.Dispose();
            _stopping.Cancel();
            lock (_gate)
            {
                // Streams handed out by AcceptAsync outlive the server; their limits stay enforced until the last one is closed.
                if (_guards.IsEmpty)
                {
                    _heartbeat?.Dispose();
                    _heartbeat = null;
                }
            }

            if (_unixPath is not null)
            {
                try
                {
                    File.Delete(_unixPath);
                }
                catch (IOException)
                {
                    // Someone else removed or replaced it; not ours to worry about.
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Turns an accepted socket into a stream watched by the server's limits, or closes it (null) when its address is over
    /// <see cref="SocketServerOptions.MaxConnectionsPerAddress"/>.</summary>
    private SocketStream? Admit(Socket socket)
    {
        IPAddress? address = null;
        if (_options.MaxConnectionsPerAddress is { } max && socket.RemoteEndPoint is IPEndPoint remote)
        {
            address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
            lock (_gate)
            {
                var count = _perAddress.GetValueOrDefault(address);
                if (count >= max)
                {
                    address = null;
                }
                else
                {
                    _perAddress[address] = count + 1;
                }
            }

            if (address is null)
            {
                Interlocked.Increment(ref _rejected);
                socket.Dispose();
                return null;
            }
        }

        Interlocked.Increment(ref _accepted);
        var guard = new ConnectionGuard(this, _options, _time, address);
        _guards.TryAdd(guard, 0);
        try
        {
            return SocketStream.Wrap(socket, _options.StreamOptions, guard);
        }
        catch
        {
            guard.Release();
            socket.Dispose();
            throw;
        }
    }

    private void Beat()
    {
        // A beat that overlaps a slow previous one is skipped: the next one checks everything again.
        if (Interlocked.Exchange(ref _beating, 1) != 0)
        {
            return;
        }

        try
        {
            foreach (var guard in _guards.Keys)
            {
                guard.Check();
            }
        }
        finally
        {
            Volatile.Write(ref _beating, 0);
        }
    }

    private async IAsyncEnumerable<SocketStream> AcceptAllCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && !IsDisposed)
        {
            SocketStream? stream;
            try
            {
                stream = await AcceptOrRetryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
            catch (ObjectDisposedException) when (IsDisposed)
            {
                yield break;
            }

            if (stream is not null)
            {
                yield return stream;
            }
        }
    }

    /// <summary>Accepts one connection, or returns null after a failure that does not stop the server, like Trio's
    /// <c>serve_listeners</c>: a connection the client aborted before it was accepted is skipped at once; running out of file
    /// descriptors or buffers pauses 100 ms first.</summary>
    private async ValueTask<SocketStream?> AcceptOrRetryAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex) when (IsAbortedConnection(ex.SocketErrorCode))
        {
            Interlocked.Increment(ref _abortedAccepts);
            return null;
        }
        catch (SocketException ex) when (IsOutOfResources(ex.SocketErrorCode))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), _options.TimeProvider ?? TimeProvider.System, cancellationToken).ConfigureAwait(false);
            return null;
        }
    }

    private static bool IsAbortedConnection(SocketError error) => error is SocketError.ConnectionAborted or SocketError.ConnectionReset;

    private static bool IsOutOfResources(SocketError error) => error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable;
}
