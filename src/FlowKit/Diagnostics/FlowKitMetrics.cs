using System.Diagnostics.Metrics;

namespace FlowKit.Diagnostics;

/// <summary>The one <see cref="Meter"/> named <c>FlowKit</c> that every FlowKit area records into (seen by <c>dotnet-counters</c> and OpenTelemetry).</summary>
internal static class FlowKitMetrics
{
    /// <summary>The meter's name, which listeners subscribe to.</summary>
    public const string MeterName = "FlowKit";

    /// <summary>The shared meter.</summary>
    public static readonly Meter Meter = new(MeterName, typeof(FlowKitMetrics).Assembly.GetName().Version?.ToString());
}
