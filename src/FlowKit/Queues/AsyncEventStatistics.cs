using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of an <see cref="AsyncEvent"/>, from <see cref="AsyncEvent.GetStatistics"/>.</summary>
/// <param name="IsSet">Whether the flag is set.</param>
/// <param name="TasksWaiting">Tasks blocked in <see cref="AsyncEvent.WaitAsync"/>.</param>
[DebuggerDisplay("IsSet = {IsSet}, Waiting = {TasksWaiting}")]
public readonly record struct AsyncEventStatistics(bool IsSet, int TasksWaiting);
