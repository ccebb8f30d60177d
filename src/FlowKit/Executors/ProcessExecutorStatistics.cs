using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of a <see cref="ProcessExecutor"/>'s counters.</summary>
/// <param name="MaxWorkers">Worker slots.</param>
/// <param name="LiveWorkers">Worker processes running now.</param>
/// <param name="QueuedCalls">Calls (items or chunks) waiting for a worker.</param>
/// <param name="InFlightCalls">Calls sent to a worker and not yet answered.</param>
/// <param name="CompletedCalls">Calls answered by a worker.</param>
/// <param name="WorkersStarted">Worker processes started so far.</param>
/// <param name="WorkersLost">Workers that crashed or were killed (not counting graceful recycling or shutdown).</param>
/// <param name="IsShutdown">True once shutdown has begun.</param>
[DebuggerDisplay("Live = {LiveWorkers}/{MaxWorkers}, Queued = {QueuedCalls}, InFlight = {InFlightCalls}, Lost = {WorkersLost}")]
public readonly record struct ProcessExecutorStatistics(
    int MaxWorkers, int LiveWorkers, int QueuedCalls, int InFlightCalls, long CompletedCalls, long WorkersStarted, long WorkersLost, bool IsShutdown);
