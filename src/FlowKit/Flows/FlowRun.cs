using System.Collections.Concurrent;
using System.Threading.Channels;

namespace FlowKit.Flows;

/// <summary>
/// One run of a flow: the nursery every stage runs in, the tasks (segments) the stages registered while materializing, and the buffers
/// between them (read by the <c>buffered</c> metric and by tests).
/// </summary>
internal sealed class FlowRun
{
    private static readonly ConcurrentDictionary<FlowRun, byte> LiveRuns = new();
    private readonly List<Func<CancellationToken, Task>> _segments = [];
    private readonly List<BufferProbe> _buffers = [];
    private readonly List<Action<CancellationToken>> _closeOnStop = [];
    private Nursery? _nursery;
    private CancellationTokenRegistration _stopRegistration;

    private FlowRun(string flowName)
    {
        FlowName = flowName;
    }

    /// <summary>Raised when a run has materialized and is about to start its stages (test hook).</summary>
    internal static event Action<FlowRun>? Starting;

    public string FlowName { get; }

    /// <summary>The nursery every stage of this run runs in.</summary>
    public Nursery Nursery => _nursery ?? throw new InvalidOperationException("The flow run has not started.");

    public IReadOnlyList<BufferProbe> Buffers => _buffers;

    internal static IEnumerable<FlowRun> Live => LiveRuns.Keys;

    /// <summary>Materializes <paramref name="flow"/> into <paramref name="sink"/> and runs it; returns when every stage has stopped.</summary>
    public static async Task RunAsync<T>(Flow<T> flow, Func<FlowRun, Emitter<T>> sink, CancellationToken cancellationToken)
    {
        var run = new FlowRun(flow.FlowName);
        try
        {
            await Nursery.RunAsync(
                nursery =>
                {
                    run._nursery = nursery;
                    flow.Materialize(run, sink(run));
                    if (run._closeOnStop.Count > 0)
                    {
                        // One registration per run instead of one per blocked read or write.
                        run._stopRegistration = nursery.CancellationToken.UnsafeRegister(
                            static (s, token) =>
                            {
                                foreach (var close in ((FlowRun)s!)._closeOnStop)
                                {
                                    close(token);
                                }
                            },
                            run);
                    }

                    LiveRuns.TryAdd(run, 0);
                    Starting?.Invoke(run);
                    foreach (var segment in run._segments)
                    {
                        nursery.StartSoon(segment);
                    }

                    return Task.CompletedTask;
                },
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await run._stopRegistration.DisposeAsync().ConfigureAwait(false);
            LiveRuns.TryRemove(run, out _);
        }
    }

    /// <summary>Registers a task that runs for the whole flow (a source pump or a stage loop).</summary>
    public void AddSegment(Func<CancellationToken, Task> segment) => _segments.Add(segment);

    /// <summary>Stops the whole run without an error (a sink that needs no more items).</summary>
    public void Stop() => Nursery.Cancel();

    public StageContext Stage(IFlowNode node, StageOptions options) => new(this, node.StageName, options);

    /// <summary>The context of the sink that ends the flow after <paramref name="last"/>.</summary>
    public StageContext Sink(IFlowNode last, string kind) => new(this, $"{kind}#{last.Depth + 1}", StageOptions.Default);

    /// <summary>Creates the bounded channel in front of a stage and records it as one of the run's buffers.</summary>
    public Channel<TItem> CreateBuffer<TItem>(string stageName, int capacity, bool singleReader, bool singleWriter)
    {
        var channel = Channel.CreateBounded<TItem>(new BoundedChannelOptions(capacity)
        {
            SingleReader = singleReader,
            SingleWriter = singleWriter,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var reader = channel.Reader;
        AddBuffer(stageName, capacity, () => reader.Count);
        CloseOnStop(channel.Writer);
        return channel;
    }

    /// <summary>Creates the single-reader, single-writer buffer in front of a one-worker stage and records it as one of the run's buffers;
    /// stopping the run completes it with an <see cref="OperationCanceledException"/>.</summary>
    public StageBuffer<TItem> CreateStageBuffer<TItem>(string stageName, int capacity)
    {
        var buffer = new StageBuffer<TItem>(capacity);
        AddBuffer(stageName, capacity, () => buffer.Count);
        _closeOnStop.Add(token => buffer.TryComplete(new OperationCanceledException("The flow stopped.", token)));
        return buffer;
    }

    /// <summary>Completes <paramref name="writer"/> with an <see cref="OperationCanceledException"/> when the run stops, so its readers and blocked
    /// writers wake up without each registering on the token.</summary>
    public void CloseOnStop<TItem>(ChannelWriter<TItem> writer) =>
        _closeOnStop.Add(token => writer.TryComplete(new OperationCanceledException("The flow stopped.", token)));

    /// <summary>Runs <paramref name="close"/> when the run stops (before <see cref="Stop"/> returns if it stops the run), to wake a waiter
    /// that does not watch the token.</summary>
    public void OnStop(Action<CancellationToken> close) => _closeOnStop.Add(close);

    /// <summary>Records a buffer that is not a plain channel (a reorder window, keyed lanes).</summary>
    public void AddBuffer(string stageName, int capacity, Func<int> count) => _buffers.Add(new BufferProbe(stageName, capacity, count));

    /// <summary>A stage buffer: its bound and a way to read how many items it holds now.</summary>
    internal sealed record BufferProbe(string StageName, int Capacity, Func<int> Count);
}
