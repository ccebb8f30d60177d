using System.Diagnostics.Metrics;

using FlowKit.Diagnostics;

namespace FlowKit.Flows;

/// <summary>The flow instruments on the shared <c>FlowKit</c> meter, all tagged with <c>flowkit.flow</c> and <c>flowkit.stage</c>.</summary>
internal static class FlowMetrics
{
    public const string FlowTag = "flowkit.flow";
    public const string StageTag = "flowkit.stage";

    public static readonly Counter<long> ItemsIn =
        FlowKitMetrics.Meter.CreateCounter<long>("flowkit.flow.stage.items_in", "{item}", "Items a flow stage received.");

    public static readonly Counter<long> ItemsOut =
        FlowKitMetrics.Meter.CreateCounter<long>("flowkit.flow.stage.items_out", "{item}", "Items a flow stage emitted.");

    public static readonly Counter<long> ItemsFailed =
        FlowKitMetrics.Meter.CreateCounter<long>("flowkit.flow.stage.items_failed", "{item}", "Item failures in a flow stage (every failed attempt).");

    public static readonly Counter<long> ItemsDropped =
        FlowKitMetrics.Meter.CreateCounter<long>("flowkit.flow.stage.items_dropped", "{item}", "Items a flow stage dropped by policy (overflow, slow consumer).");

    public static readonly Histogram<double> ProcessingTime =
        FlowKitMetrics.Meter.CreateHistogram<double>("flowkit.flow.stage.processing_time", "ms", "Time a flow stage spent on one item.");

    public static readonly ObservableGauge<int> Buffered =
        FlowKitMetrics.Meter.CreateObservableGauge("flowkit.flow.stage.buffered", ObserveBuffered, "{item}", "Items waiting in the buffer in front of a flow stage.");

    private static IEnumerable<Measurement<int>> ObserveBuffered()
    {
        foreach (var run in FlowRun.Live)
        {
            foreach (var buffer in run.Buffers)
            {
                yield return new Measurement<int>(buffer.Count(), new KeyValuePair<string, object?>(FlowTag, run.FlowName), new KeyValuePair<string, object?>(StageTag, buffer.StageName));
            }
        }
    }
}
