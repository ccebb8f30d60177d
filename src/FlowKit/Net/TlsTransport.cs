using System.Net.Security;
using System.Net.Sockets;

namespace FlowKit.Net;

/// <summary>TLS over another transport. Half-close sends TLS close_notify, then half-closes the transport underneath.</summary>
internal sealed class TlsTransport(SslStream ssl, StreamTransport inner) : StreamTransport
{
    public override Stream Stream => ssl;

    public override Socket? Socket => inner.Socket;

    public SslStream Ssl => ssl;

    public override ConnectionGuard? Guard => inner.Guard;

    public override async ValueTask SendEofAsync()
    {
        await ssl.ShutdownAsync().ConfigureAwait(false);
        await inner.SendEofAsync().ConfigureAwait(false);
    }

    public override async ValueTask CloseAsync()
    {
        // The transport is closed first so that no graceful step can block the close; SslStream is then just released.
        await inner.CloseAsync().ConfigureAwait(false);
        try
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
