using System.Diagnostics;

namespace FlowKit.Net;

/// <summary>A snapshot of a <see cref="SocketServer"/>'s counters, from <see cref="SocketServer.GetStatistics"/>.</summary>
/// <param name="ActiveConnections">Connections being served now.</param>
/// <param name="AcceptedConnections">Connections accepted over the server's life.</param>
/// <param name="HandlerFailures">Handlers that threw (their connections were closed, the server went on).</param>
/// <param name="IsListening">Whether the listening socket is open.</param>
[DebuggerDisplay("Active = {ActiveConnections}, Accepted = {AcceptedConnections}, Failures = {HandlerFailures}")]
public readonly record struct SocketServerStatistics(int ActiveConnections, long AcceptedConnections, long HandlerFailures, bool IsListening)
{
    /// <summary>Connections the client aborted or reset before they could be accepted (skipped at once; accepting goes on).</summary>
    public long AbortedAccepts { get; init; }
}
