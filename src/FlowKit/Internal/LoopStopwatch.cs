using System.Reactive.Concurrency;

namespace FlowKit.Internal;

/// <summary>An Rx stopwatch on a <see cref="TimeProvider"/>'s timestamps, so a fake clock drives it too.</summary>
internal sealed class LoopStopwatch(TimeProvider time) : IStopwatch
{
    private readonly long _start = time.GetTimestamp();

    public TimeSpan Elapsed => time.GetElapsedTime(_start);
}
