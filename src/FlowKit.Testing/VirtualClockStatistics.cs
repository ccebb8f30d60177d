using System.Diagnostics;

namespace FlowKit.Testing;

/// <summary>A snapshot of a <see cref="VirtualClock"/>, from <see cref="VirtualClock.GetStatistics"/>.</summary>
/// <param name="PendingTimers">Armed timers that have not fired yet.</param>
/// <param name="TimersFired">Timer callbacks run so far.</param>
/// <param name="Jumps">Times the clock jumped forward to a timer or a target.</param>
/// <param name="Elapsed">Virtual time since the clock was created.</param>
[DebuggerDisplay("Timers = {PendingTimers}, Fired = {TimersFired}, Elapsed = {Elapsed}")]
public readonly record struct VirtualClockStatistics(int PendingTimers, long TimersFired, long Jumps, TimeSpan Elapsed);
