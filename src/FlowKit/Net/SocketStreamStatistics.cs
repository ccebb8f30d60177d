using System.Diagnostics;

namespace FlowKit.Net;

/// <summary>A snapshot of a <see cref="SocketStream"/>'s counters, from <see cref="SocketStream.GetStatistics"/>.</summary>
/// <param name="BytesReceived">Bytes handed to the reader so far.</param>
/// <param name="BytesSent">Bytes accepted by the transport so far (frame and line terminators included).</param>
/// <param name="BufferedBytes">Bytes read from the transport and not yet handed to the reader.</param>
/// <param name="IsReading">Whether a read or an open read enumeration holds the stream.</param>
/// <param name="IsWriting">Whether a write is in progress.</param>
/// <param name="EofSent">Whether <see cref="SocketStream.SendEofAsync"/> has closed the sending side.</param>
/// <param name="IsReadBroken">Whether a reset or a framing error left the reading side unusable.</param>
/// <param name="IsClosed">Whether the stream has been disposed.</param>
[DebuggerDisplay("Received = {BytesReceived}, Sent = {BytesSent}, Closed = {IsClosed}")]
public readonly record struct SocketStreamStatistics(
    long BytesReceived, long BytesSent, long BufferedBytes, bool IsReading, bool IsWriting, bool EofSent, bool IsReadBroken, bool IsClosed);
