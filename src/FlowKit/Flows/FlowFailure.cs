namespace FlowKit;

/// <summary>A failed item as a dead-letter sink receives it (see <see cref="FlowErrorPolicy.DeadLetter"/>).</summary>
/// <param name="FlowName">The flow's name.</param>
/// <param name="StageName">The stage that failed.</param>
/// <param name="Item">The item it was processing.</param>
/// <param name="Exception">The last exception the stage threw for it.</param>
/// <param name="Attempts">How many times the stage tried the item.</param>
public readonly record struct FlowFailure(string FlowName, string StageName, object? Item, Exception Exception, int Attempts);
