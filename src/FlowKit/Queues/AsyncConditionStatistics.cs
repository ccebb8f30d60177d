using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of an <see cref="AsyncCondition"/>, from <see cref="AsyncCondition.GetStatistics"/>.</summary>
/// <param name="TasksWaiting">Tasks waiting for a notification.</param>
/// <param name="LockStatistics">The state of the condition's lock.</param>
[DebuggerDisplay("Waiting = {TasksWaiting}, Locked = {LockStatistics.Locked}")]
public readonly record struct AsyncConditionStatistics(int TasksWaiting, AsyncLockStatistics LockStatistics);
