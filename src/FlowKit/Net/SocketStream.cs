using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace FlowKit.Net;

/// <summary>
/// A connected byte stream over TCP, a Unix-domain socket, TLS or memory (Trio's <c>SocketStream</c>), read as
/// <see cref="IAsyncEnumerable{T}"/> sources of chunks, lines or frames, or with the raw <see cref="ReceiveSomeAsync"/>.
/// One reader and one writer may use it at the same time; a second concurrent reader or writer gets <see cref="BusyStreamException"/>.
/// </summary>
/// <example>
/// <code>
/// await using var stream = await SocketStream.ConnectTcpAsync("example.org", 7, ct);
/// await stream.WriteLineAsync("hello", ct);
/// await foreach (var line in stream.ReadLinesAsync(maxLineLength: 4096, ct))
/// {
///     Console.WriteLine(line);
/// }
/// </code>
/// </example>
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public sealed partial class SocketStream : IAsyncDisposable
{
    private readonly StreamTransport _transport;
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly SocketStreamOptions _options;
    private int _readBusy;
    private int _writeBusy;
    private int _disposed;
    private int _eofSent;
    private int _readerCompleted;
    private long _bytesReceived;
    private long _bytesSent;
    private long _buffered;
    private Exception? _readFault;

    internal SocketStream(StreamTransport transport, SocketStreamOptions options)
    {
        _transport = transport;
        _stream = transport.Stream;
        _options = options;

        // Pull-based: the pipe reads the transport only when a reader asks, so a peer that outruns its reader is held back by the
        // kernel's flow control instead of filling memory. Continuations stay on the socket's completion thread (no extra hop). With
        // nothing buffered, the pipe first waits with a zero-byte read and rents its buffer only once data is there (as Kestrel
        // does): an idle connection holds no read buffer.
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(
            bufferSize: options.BufferSize, minimumReadSize: Math.Min(1024, options.BufferSize), leaveOpen: true, useZeroByteReads: true));
    }

    /// <summary>The local end of the connection, or null when the stream is not over a socket.</summary>
    public EndPoint? LocalEndPoint => _transport.Socket?.LocalEndPoint;

    /// <summary>The remote end of the connection, or null when the stream is not over a socket.</summary>
    public EndPoint? RemoteEndPoint => _transport.Socket?.RemoteEndPoint;

    /// <summary>The socket underneath, for socket options (e.g. <see cref="Socket.LingerState"/>); null for in-memory streams.</summary>
    public Socket? Socket => _transport.Socket;

    /// <summary>Whether the stream runs over TLS.</summary>
    public bool IsEncrypted => _transport is TlsTransport;

    /// <summary>The server limits watching this stream (for tests), or null.</summary>
    internal ConnectionGuard? Guard => _transport.Guard;

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private string DebuggerDisplay => $"{(IsEncrypted ? "TLS " : string.Empty)}{RemoteEndPoint?.ToString() ?? "memory"}, received {_bytesReceived}, sent {_bytesSent}";

    /// <summary>
    /// Opens a TCP connection (Trio's <c>open_tcp_stream</c>): resolves <paramref name="host"/> (a name, an IPv4 or an IPv6 address) and
    /// tries each address in turn until one connects.
    /// </summary>
    /// <param name="host">A host name or address literal.</param>
    /// <param name="port">The port, 1 to 65535.</param>
    /// <param name="cancellationToken">Cancels the lookup and the connect.</param>
    /// <returns>The connected stream; dispose it to close the connection.</returns>
    /// <exception cref="SocketException">No address accepted the connection (for example <see cref="SocketError.ConnectionRefused"/>).</exception>
    /// <example>
    /// <code>
    /// await using var stream = await SocketStream.ConnectTcpAsync("127.0.0.1", 12345, ct);
    /// await stream.SendAllAsync("hi"u8.ToArray(), ct);
    /// </code>
    /// </example>
    public static Task<SocketStream> ConnectTcpAsync(string host, int port, CancellationToken cancellationToken = default) =>
        ConnectTcpAsync(host, port, null, cancellationToken);

    /// <summary>Opens a TCP connection like <see cref="ConnectTcpAsync(string, int, CancellationToken)"/>, with buffering options.</summary>
    /// <param name="host">A host name or address literal.</param>
    /// <param name="port">The port, 1 to 65535.</param>
    /// <param name="options">Buffering options; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the lookup and the connect.</param>
    /// <returns>The connected stream.</returns>
    public static async Task<SocketStream> ConnectTcpAsync(string host, int port, SocketStreamOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        var validated = (options ?? SocketStreamOptions.Default).Validated();
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        SocketException? last = null;
        foreach (var address in addresses)
        {
            try
            {
                return await ConnectAsync(new IPEndPoint(address, port), validated, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                last = ex;
            }
        }

        throw last!;
    }

    /// <summary>Opens a TCP connection to <paramref name="endPoint"/>.</summary>
    /// <param name="endPoint">The address and port to connect to.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="SocketException">The connection failed, for example <see cref="SocketError.ConnectionRefused"/>.</exception>
    public static Task<SocketStream> ConnectTcpAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return ConnectAsync(endPoint, SocketStreamOptions.Default, cancellationToken);
    }

    /// <summary>Opens a connection to the Unix-domain socket at <paramref name="path"/> (Trio's <c>open_unix_socket</c>).</summary>
    /// <param name="path">The socket's file path.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="SocketException">Nothing listens at that path.</exception>
    public static Task<SocketStream> ConnectUnixAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return ConnectAsync(new UnixDomainSocketEndPoint(path), SocketStreamOptions.Default, cancellationToken);
    }

    /// <summary>
    /// Creates two connected in-memory streams (Trio's <c>memory_stream_pair</c>): what one sends, the other receives. Useful to test
    /// handlers without sockets.
    /// </summary>
    /// <param name="capacity">Bytes each direction buffers before a writer waits; 0 makes every write wait for the reader (lockstep).</param>
    /// <returns>The two ends.</returns>
    public static (SocketStream First, SocketStream Second) CreateMemoryPair(int capacity = 64 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        var (a, b) = MemoryTransport.CreatePair(capacity);
        return (new SocketStream(a, SocketStreamOptions.Default), new SocketStream(b, SocketStreamOptions.Default));
    }

    /// <summary>Wraps a socket that is already connected; the stream owns it from now on.</summary>
    /// <param name="socket">A connected stream socket (TCP or Unix-domain).</param>
    /// <param name="options">Buffering options; null for the defaults.</param>
    /// <returns>The stream.</returns>
    public static SocketStream FromSocket(Socket socket, SocketStreamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (!socket.Connected || socket.SocketType != SocketType.Stream)
        {
            throw new ArgumentException("The socket must be a connected stream socket.", nameof(socket));
        }

        return Wrap(socket, (options ?? SocketStreamOptions.Default).Validated());
    }

    /// <summary>A snapshot of the stream's counters.</summary>
    /// <returns>The counters.</returns>
    public SocketStreamStatistics GetStatistics() => new(
        Interlocked.Read(ref _bytesReceived),
        Interlocked.Read(ref _bytesSent),
        Interlocked.Read(ref _buffered),
        Volatile.Read(ref _readBusy) != 0,
        Volatile.Read(ref _writeBusy) != 0,
        Volatile.Read(ref _eofSent) != 0,
        Volatile.Read(ref _readFault) is not null,
        IsDisposed);

    /// <summary>
    /// Closes the stream: a TCP peer reads a clean end of stream. Pending reads and writes end with <see cref="ObjectDisposedException"/>.
    /// Closing twice is fine.
    /// </summary>
    /// <returns>A task that completes when the transport is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _transport.CloseAsync().ConfigureAwait(false);
        if (Interlocked.CompareExchange(ref _readBusy, 1, 0) == 0)
        {
            CompleteReader();
        }
    }

    internal static SocketStream Wrap(Socket socket, SocketStreamOptions options, ConnectionGuard? guard = null)
    {
        if (socket.ProtocolType == ProtocolType.Tcp)
        {
            socket.NoDelay = options.NoDelay;
        }

        return new SocketStream(new SocketTransport(socket, options.InlineCompletions, guard), options);
    }

    /// <summary>Whether the stream was closed from this side: by <see cref="DisposeAsync"/>, or by a server limit. A transport read
    /// that then ends (with 0 bytes or an end of stream) is that close, not the peer's.</summary>
    private bool ClosedLocally => IsDisposed || _transport.Guard?.Fault is not null;

    private static async Task<SocketStream> ConnectAsync(EndPoint endPoint, SocketStreamOptions options, CancellationToken cancellationToken)
    {
        var protocol = endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, protocol);
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return Wrap(socket, options);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    private void CompleteReader()
    {
        if (Interlocked.Exchange(ref _readerCompleted, 1) == 0)
        {
            _reader.Complete();
        }
    }

    private static ObjectDisposedException ClosedDuring(string direction) =>
        new(nameof(SocketStream), $"The stream was closed while a {direction} was in progress.");

    /// <summary>Turns a transport failure into the stream's documented exceptions.</summary>
    private Exception Translate(Exception error, string direction)
    {
        if (_transport.Guard?.Fault is { } limit)
        {
            // A server limit closed the transport under this operation: that, not the close's side effects, is what happened.
            return limit;
        }

        if (error is OperationCanceledException && !IsDisposed)
        {
            return error;
        }

        if (IsDisposed)
        {
            return error as ObjectDisposedException ?? ClosedDuring(direction);
        }

        return error switch
        {
            BrokenStreamException or ConnectionLimitException => error,
            IOException or SocketException or System.Security.Authentication.AuthenticationException =>
                new BrokenStreamException($"The stream broke during a {direction}: {(error.InnerException ?? error).Message}", error.InnerException as SocketException ?? error),
            ObjectDisposedException => new BrokenStreamException($"The transport was closed during a {direction}.", error),
            _ => error,
        };
    }

    private static bool IsTransportError(Exception error) =>
        error is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException
            or System.Security.Authentication.AuthenticationException;
}
