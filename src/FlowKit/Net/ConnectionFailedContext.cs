using System.Net;

namespace FlowKit.Net;

/// <summary>What <see cref="SocketServerOptions.OnConnectionFailed"/> receives when a connection's handler throws.</summary>
/// <param name="Exception">What the handler threw.</param>
/// <param name="RemoteEndPoint">The client, when known.</param>
public readonly record struct ConnectionFailedContext(Exception Exception, EndPoint? RemoteEndPoint);
