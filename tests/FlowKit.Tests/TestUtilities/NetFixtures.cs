using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

using FlowKit.Net;

namespace FlowKit.Tests.TestUtilities;

/// <summary>Shared helpers for the Net tests: connected pairs per transport, a self-signed certificate, fd counts.</summary>
public static class NetFixtures
{
    private static readonly Lazy<X509Certificate2> LazyCertificate = new(CreateCertificate);

    public static bool Stress => Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1";

    /// <summary>A self-signed certificate for "localhost", made in the test process (with its private key).</summary>
    public static X509Certificate2 Certificate => LazyCertificate.Value;

    public static int OpenFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    public static async Task<(SocketStream Client, SocketStream Server)> TcpPairAsync(IPAddress? address = null, bool inlineCompletions = true)
    {
        var streamOptions = new SocketStreamOptions { InlineCompletions = inlineCompletions };
        await using var server = SocketServer.ListenTcp(address ?? IPAddress.Loopback, 0, new SocketServerOptions { StreamOptions = streamOptions });
        var accept = server.AcceptAsync().AsTask();
        var endPoint = server.LocalEndPoint;
        var client = await SocketStream.ConnectTcpAsync(endPoint.Address.ToString(), endPoint.Port, streamOptions);
        return (client, await accept);
    }

    public static async Task<(SocketStream Client, SocketStream Server)> UnixPairAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), $"flowkit-{Guid.NewGuid():N}.sock");
        await using var server = SocketServer.ListenUnix(path);
        var accept = server.AcceptAsync().AsTask();
        var client = await SocketStream.ConnectUnixAsync(path);
        return (client, await accept);
    }

    public static async Task<(SocketStream Client, SocketStream Server)> TlsPairAsync()
    {
        var (client, server) = await TcpPairAsync();
        var serverTask = server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = Certificate });
        var clientTask = client.AuthenticateAsClientAsync(ClientOptions());
        return (await clientTask, await serverTask);
    }

    public static SslClientAuthenticationOptions ClientOptions() => new()
    {
        TargetHost = "localhost",
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && certificate.GetCertHashString() == Certificate.GetCertHashString(),
    };

    /// <summary>A port that was free a moment ago (for programs that cannot be given port 0 and report back).</summary>
    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        // Round-trip through PKCS#12 so that SslStream on Linux can use the private key.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }
}
