using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of an <see cref="AsyncLock"/>, from <see cref="AsyncLock.GetStatistics"/> (Trio's <c>LockStatistics</c>).</summary>
/// <param name="Locked">Whether the lock is held.</param>
/// <param name="TasksWaiting">Tasks blocked in <see cref="AsyncLock.AcquireAsync"/>.</param>
[DebuggerDisplay("Locked = {Locked}, Waiting = {TasksWaiting}")]
public readonly record struct AsyncLockStatistics(bool Locked, int TasksWaiting);
