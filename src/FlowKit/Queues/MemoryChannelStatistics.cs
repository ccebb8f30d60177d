using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of a memory channel (Trio's <c>MemoryChannelStatistics</c>), from either end's <c>GetStatistics()</c>.</summary>
/// <param name="CurrentBufferUsed">Items in the buffer.</param>
/// <param name="MaxBufferSize">The capacity (0 = rendezvous, <see cref="int.MaxValue"/> = unbounded).</param>
/// <param name="OpenSendChannels">Send clones not yet disposed.</param>
/// <param name="OpenReceiveChannels">Receive clones not yet disposed.</param>
/// <param name="TasksWaitingSend">Callers blocked in <see cref="SendChannel{T}.SendAsync"/>.</param>
/// <param name="TasksWaitingReceive">Callers blocked in <see cref="ReceiveChannel{T}.ReceiveAsync"/>.</param>
[DebuggerDisplay("Buffer = {CurrentBufferUsed}/{MaxBufferSize}, Senders = {OpenSendChannels}, Receivers = {OpenReceiveChannels}")]
public readonly record struct MemoryChannelStatistics(
    int CurrentBufferUsed,
    int MaxBufferSize,
    int OpenSendChannels,
    int OpenReceiveChannels,
    int TasksWaitingSend,
    int TasksWaitingReceive);
