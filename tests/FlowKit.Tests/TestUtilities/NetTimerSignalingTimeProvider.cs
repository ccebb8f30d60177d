using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.TestUtilities;

/// <summary>A <see cref="FakeTimeProvider"/> that signals each time a timer is created, so a test can advance time only once the code
/// under test is waiting on it.</summary>
public sealed class NetTimerSignalingTimeProvider : FakeTimeProvider
{
    public SemaphoreSlim TimerCreated { get; } = new(0);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        TimerCreated.Release();
        return timer;
    }
}
