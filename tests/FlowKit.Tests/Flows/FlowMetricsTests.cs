using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed class FlowMetricsTests
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task Meter_RecordsPerStageInOutFailedBufferedAndTime_TaggedWithFlowAndStage()
    {
        var flowName = "metrics-" + Guid.NewGuid().ToString("N");
        var counters = new ConcurrentDictionary<(string Instrument, string Stage), long>();
        var buffered = new ConcurrentBag<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "FlowKit" && instrument.Name.StartsWith("flowkit.flow.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void OnMeasurement<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            string? flow = null, stage = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "flowkit.flow")
                {
                    flow = tag.Value as string;
                }
                else if (tag.Key == "flowkit.stage")
                {
                    stage = tag.Value as string;
                }
            }

            if (flow != flowName || stage is null)
            {
                return;
            }

            if (instrument.Name == "flowkit.flow.stage.buffered")
            {
                buffered.Add(stage);
                return;
            }

            var delta = instrument.Name == "flowkit.flow.stage.processing_time" ? 1 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
            counters.AddOrUpdate((instrument.Name, stage), delta, (_, n) => n + delta);
        }

        listener.SetMeasurementEventCallback<long>(OnMeasurement);
        listener.SetMeasurementEventCallback<double>(OnMeasurement);
        listener.SetMeasurementEventCallback<int>(OnMeasurement);
        listener.Start();

        await Flow.From(Enumerable.Range(0, 100)).WithFlowName(flowName)
            .Select(x => x * 2).Named("double")
            .Where(x => x % 4 == 0).Named("quarter")
            .Select(x => x % 10 == 0 ? throw new FormatException() : x, new StageOptions { OnError = FlowErrorPolicy.Skip }).Named("picky")
            .Select((x, _) => new ValueTask<int>(x), new StageOptions { Parallelism = 2, Capacity = 8 }).Named("async")
            .ForEachAsync(_ => listener.RecordObservableInstruments());

        Assert.AreEqual(100, counters[("flowkit.flow.stage.items_in", "double")]);
        Assert.AreEqual(100, counters[("flowkit.flow.stage.items_out", "double")]);
        Assert.AreEqual(100, counters[("flowkit.flow.stage.processing_time", "double")]);
        Assert.AreEqual(100, counters[("flowkit.flow.stage.items_in", "quarter")]);
        Assert.AreEqual(50, counters[("flowkit.flow.stage.items_out", "quarter")]);
        Assert.AreEqual(10, counters[("flowkit.flow.stage.items_failed", "picky")]);
        Assert.AreEqual(40, counters[("flowkit.flow.stage.items_out", "picky")]);
        Assert.AreEqual(40, counters[("flowkit.flow.stage.items_in", "async")]);
        Assert.AreEqual(40, counters[("flowkit.flow.stage.items_out", "async")]);
        Assert.IsTrue(buffered.Contains("async"), "the buffer in front of the async stage is observed");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Meter_ListenerAttachingMidRun_SeesFusedStageCountsWithin256Items()
    {
        // Fused stages look the instruments up once every 256 items (a branch per item while nobody listens): a listener started at
        // item 1,000 of 10,000 must count every item from item 1,256 on, and none before it started.
        var flowName = "late-" + Guid.NewGuid().ToString("N");
        long counted = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "FlowKit" && instrument.Name == "flowkit.flow.stage.items_out")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "flowkit.flow" && (string?)tag.Value == flowName)
                {
                    Interlocked.Add(ref counted, value);
                    return;
                }
            }
        });

        var count = await Flow.From(Enumerable.Range(0, 10_000)).WithFlowName(flowName)
            .Select(x =>
            {
                if (x == 1_000)
                {
                    listener.Start();
                }

                return x;
            }).Named("attach")
            .Where(_ => true).Named("pass")
            .CountAsync();

        Assert.AreEqual(10_000, count);

        // Per stage (the source, "attach", "pass"): at most 9,000 items after the start, at least 10,000 - 1,256.
        var perStage = Interlocked.Read(ref counted) / 3.0;
        Assert.IsTrue(perStage is >= 8_744 and <= 9_000, $"{counted} items out counted over 3 stages");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Meter_ObservableDrops_AreCounted()
    {
        var flowName = "drops-" + Guid.NewGuid().ToString("N");
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "FlowKit" && instrument.Name == "flowkit.flow.stage.items_dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "flowkit.flow" && (string?)tag.Value == flowName)
                {
                    Interlocked.Add(ref dropped, value);
                }
            }
        });
        listener.Start();
        var release = new TaskCompletionSource();
        var fast = new BroadcastSink<int>("fast", (f, ct) => f.CountAsync(ct));
        var slow = new BroadcastSink<int>("slow", (f, ct) => f.ForEachAsync(async (_, c) => await release.Task.WaitAsync(c), ct)) { Capacity = 1, WhenFull = SlowConsumerPolicy.Drop };

        var run = Flow.From(Enumerable.Range(0, 50)).WithFlowName(flowName).BroadcastAsync([fast, slow]);
        await TestUtilities.FlowsTestSupport.WaitUntilAsync(() => fast.GetStatistics().Delivered == 50);
        release.TrySetResult();
        await run;

        Assert.AreEqual(slow.GetStatistics().Dropped, Interlocked.Read(ref dropped));
        Assert.IsTrue(dropped >= 48);
    }
}
