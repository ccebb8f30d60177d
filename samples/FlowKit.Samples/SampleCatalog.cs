using System.Diagnostics.CodeAnalysis;

namespace FlowKit.Samples;

/// <summary>Every sample in this assembly, found once by reflection (samples are not trimmed).</summary>
public static class SampleCatalog
{
    private static readonly Lazy<IReadOnlyList<ISample>> LazyAll = new(Discover);

    /// <summary>All samples, ordered by name.</summary>
    public static IReadOnlyList<ISample> All => LazyAll.Value;

    /// <summary>The sample with that name, or null.</summary>
    public static ISample? Find(string name) => All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Samples are never trimmed.")]
    private static IReadOnlyList<ISample> Discover() =>
        typeof(SampleCatalog).Assembly.GetTypes()
            .Where(t => typeof(ISample).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
            .Select(t => (ISample)Activator.CreateInstance(t)!)
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
}
