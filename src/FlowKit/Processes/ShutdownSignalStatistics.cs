using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FlowKit.Processes;

/// <summary>A snapshot of a <see cref="ShutdownSignal"/>.</summary>
/// <param name="SignalCount">How many of the watched signals have arrived.</param>
/// <param name="FirstSignal">The first one, if any.</param>
/// <param name="IsShutdownRequested">Whether the token has been cancelled.</param>
[DebuggerDisplay("signals {SignalCount}, first {FirstSignal}")]
public readonly record struct ShutdownSignalStatistics(int SignalCount, PosixSignal? FirstSignal, bool IsShutdownRequested);
