using System.Diagnostics;

namespace FlowKit;

/// <summary>A snapshot of a <see cref="CapacityLimiter"/>, from <see cref="CapacityLimiter.GetStatistics"/> (Trio's <c>CapacityLimiterStatistics</c>).</summary>
/// <param name="BorrowedTokens">Tokens lent out.</param>
/// <param name="TotalTokens">The number of tokens.</param>
/// <param name="TasksWaiting">Tasks blocked in <see cref="CapacityLimiter.AcquireAsync"/>.</param>
[DebuggerDisplay("Borrowed = {BorrowedTokens}/{TotalTokens}, Waiting = {TasksWaiting}")]
public readonly record struct CapacityLimiterStatistics(int BorrowedTokens, int TotalTokens, int TasksWaiting);
