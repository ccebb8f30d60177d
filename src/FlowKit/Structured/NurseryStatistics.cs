using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of a <see cref="Nursery"/>'s counters, from <see cref="Nursery.GetStatistics"/>.</summary>
/// <param name="LiveChildren">Children started and not yet finished.</param>
/// <param name="ChildrenStarted">Children started over the nursery's life.</param>
/// <param name="ChildrenCompleted">Children that have finished (in any way).</param>
/// <param name="IsCancellationRequested">Whether the nursery has been cancelled.</param>
/// <param name="IsClosed">Whether the body and every child have finished.</param>
[DebuggerDisplay("Live = {LiveChildren}, Started = {ChildrenStarted}, Cancelled = {IsCancellationRequested}")]
public readonly record struct NurseryStatistics(int LiveChildren, int ChildrenStarted, int ChildrenCompleted, bool IsCancellationRequested, bool IsClosed);
