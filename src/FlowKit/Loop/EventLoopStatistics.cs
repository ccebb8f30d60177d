using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of an <see cref="EventLoop"/>, from <see cref="EventLoop.GetStatistics"/>.</summary>
/// <param name="ReadyCallbacks">Callbacks queued to run.</param>
/// <param name="ScheduledTimers">Timers (<see cref="EventLoop.CallLater"/>) not yet due, including cancelled ones not yet removed.</param>
/// <param name="CallbacksRun">Callbacks run since the loop was created.</param>
/// <param name="IsRunning">Whether the loop is running.</param>
/// <param name="IsClosed">Whether the loop is closed.</param>
[DebuggerDisplay("Ready = {ReadyCallbacks}, Timers = {ScheduledTimers}, Running = {IsRunning}")]
public readonly record struct EventLoopStatistics(int ReadyCallbacks, int ScheduledTimers, long CallbacksRun, bool IsRunning, bool IsClosed);
