namespace FlowKit;

/// <summary>
/// Creates flows (<c>Flow.From</c>, <c>Flow.Merge</c>) and holds every flow operator and sink as an extension method, one operator per file
/// (R3's layout). See <see cref="Flow{T}"/> for the model.
/// </summary>
public static partial class Flow
{
}
