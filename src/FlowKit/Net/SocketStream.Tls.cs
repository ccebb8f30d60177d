using System.Net.Security;

namespace FlowKit.Net;

/// <content>TLS: the same stream API over <see cref="SslStream"/> (Trio's <c>SSLStream</c> and <c>open_ssl_over_tcp_stream</c>).</content>
public sealed partial class SocketStream
{
    /// <summary>Opens a TCP connection and runs the TLS client handshake over it (Trio's <c>open_ssl_over_tcp_stream</c>).</summary>
    /// <param name="host">The host to connect to; also the TLS target host when <paramref name="options"/> names none.</param>
    /// <param name="port">The port, 1 to 65535.</param>
    /// <param name="options">The client's TLS options (certificate validation, protocols, ALPN).</param>
    /// <param name="cancellationToken">Cancels the connect and the handshake.</param>
    /// <returns>The encrypted stream.</returns>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed.</exception>
    public static async Task<SocketStream> ConnectTlsAsync(string host, int port, SslClientAuthenticationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.TargetHost ??= host;
        var plain = await ConnectTcpAsync(host, port, cancellationToken).ConfigureAwait(false);
        try
        {
            return await plain.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await plain.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs the TLS client handshake over this stream and returns the encrypted stream, which now owns the connection: this object is
    /// spent (like a disposed stream) and must not be used again. Nothing may have been read ahead from this stream.
    /// </summary>
    /// <param name="options">The client's TLS options.</param>
    /// <param name="cancellationToken">Cancels the handshake (the connection is then closed).</param>
    /// <returns>The encrypted stream.</returns>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed; the connection is closed.</exception>
    public Task<SocketStream> AuthenticateAsClientAsync(SslClientAuthenticationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var transport = Detach();
        return HandshakeAsync(transport, (ssl, ct) => ssl.AuthenticateAsClientAsync(options, ct), cancellationToken);
    }

    /// <summary>Runs the TLS server handshake over this stream and returns the encrypted stream, which now owns the connection.</summary>
    /// <param name="options">The server's TLS options, with its certificate.</param>
    /// <param name="cancellationToken">Cancels the handshake (the connection is then closed).</param>
    /// <returns>The encrypted stream.</returns>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed; the connection is closed.</exception>
    public Task<SocketStream> AuthenticateAsServerAsync(SslServerAuthenticationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var transport = Detach();
        return HandshakeAsync(transport, (ssl, ct) => ssl.AuthenticateAsServerAsync(options, ct), cancellationToken);
    }

    private async Task<SocketStream> HandshakeAsync(StreamTransport transport, Func<SslStream, CancellationToken, Task> handshake, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(transport.Stream, leaveInnerStreamOpen: true);
        var guard = transport.Guard;
        guard?.BeginHandshake();
        try
        {
            await handshake(ssl, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            guard?.EndHandshake();
            await transport.CloseAsync().ConfigureAwait(false);
            await ssl.DisposeAsync().ConfigureAwait(false);
            if (guard?.Fault is { } limit && !ReferenceEquals(limit, ex))
            {
                // The server's handshake timeout closed the connection under the handshake.
                throw limit;
            }

            throw;
        }

        guard?.EndHandshake();

        return new SocketStream(new TlsTransport(ssl, transport), _options);
    }

    /// <summary>Hands the transport over to a new owner and marks this stream spent, without closing the transport.</summary>
    private StreamTransport Detach()
    {
        ThrowIfDisposed();
        if (Interlocked.CompareExchange(ref _readBusy, 1, 0) != 0)
        {
            throw new BusyStreamException("The stream is being read; TLS can only start on an idle stream.");
        }

        if (Interlocked.Read(ref _buffered) > 0 || Volatile.Read(ref _writeBusy) != 0)
        {
            Volatile.Write(ref _readBusy, 0);
            throw new InvalidOperationException("TLS can only start on an idle stream with nothing read ahead.");
        }

        Volatile.Write(ref _disposed, 1);
        CompleteReader();
        return _transport;
    }
}
