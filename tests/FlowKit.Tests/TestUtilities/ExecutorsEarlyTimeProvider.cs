using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.TestUtilities;

/// <summary>A <see cref="FakeTimeProvider"/> whose timers fire early: at half their due time (at least one tick), both when
/// created and when changed. Code that trusts "the timer fired, so the deadline has passed" acts too soon on it; code that
/// re-checks the clock and re-arms acts exactly at the deadline. It signals each timer creation, so a test can advance time only
/// once the code under test is waiting.</summary>
public sealed class ExecutorsEarlyTimeProvider : FakeTimeProvider
{
    public SemaphoreSlim TimerCreated { get; } = new(0);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new EarlyTimer(base.CreateTimer(callback, state, Early(dueTime), period));
        TimerCreated.Release();
        return timer;
    }

    private static TimeSpan Early(TimeSpan due) =>
        due == Timeout.InfiniteTimeSpan || due <= TimeSpan.FromTicks(1) ? due : TimeSpan.FromTicks(Math.Max(1, due.Ticks / 2));

    private sealed class EarlyTimer(ITimer inner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(Early(dueTime), period);

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
