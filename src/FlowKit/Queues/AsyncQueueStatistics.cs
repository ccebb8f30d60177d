using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of an <see cref="AsyncQueue{T}"/>, from <see cref="AsyncQueue{T}.GetStatistics"/>.</summary>
/// <param name="Count">Items in the queue.</param>
/// <param name="MaxSize">The bound; 0 means unbounded.</param>
/// <param name="UnfinishedTasks">Items put and not yet marked done.</param>
/// <param name="WaitingPutters">Callers blocked in <see cref="AsyncQueue{T}.PutAsync"/>.</param>
/// <param name="WaitingGetters">Callers blocked in <see cref="AsyncQueue{T}.GetAsync"/>.</param>
/// <param name="IsShutDown">Whether <see cref="AsyncQueue{T}.Shutdown(bool)"/> has been called.</param>
[DebuggerDisplay("Count = {Count}/{MaxSize}, Putters = {WaitingPutters}, Getters = {WaitingGetters}")]
public readonly record struct AsyncQueueStatistics(int Count, int MaxSize, int UnfinishedTasks, int WaitingPutters, int WaitingGetters, bool IsShutDown);
