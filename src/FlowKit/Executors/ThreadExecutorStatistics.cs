using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of a <see cref="ThreadExecutor"/>'s counters.</summary>
/// <param name="MaxWorkers">Dedicated threads.</param>
/// <param name="BusyWorkers">Threads running an item now.</param>
/// <param name="QueuedItems">Items waiting for a thread (including cancelled ones not yet skipped).</param>
/// <param name="SubmittedItems">Items accepted so far (work items and scheduler tasks).</param>
/// <param name="CompletedItems">Items a thread has taken off the queue and finished (including skipped cancelled ones).</param>
/// <param name="CancelledItems">Items cancelled before they started.</param>
/// <param name="IsShutdown">True once shutdown has begun.</param>
[DebuggerDisplay("Busy = {BusyWorkers}/{MaxWorkers}, Queued = {QueuedItems}, Completed = {CompletedItems}")]
public readonly record struct ThreadExecutorStatistics(
    int MaxWorkers, int BusyWorkers, int QueuedItems, long SubmittedItems, long CompletedItems, long CancelledItems, bool IsShutdown);
