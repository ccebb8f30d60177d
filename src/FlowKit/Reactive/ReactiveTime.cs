using System.Reactive.Concurrency;

namespace FlowKit;

/// <summary>Rx on a <see cref="TimeProvider"/>: one clock for Rx's time operators and FlowKit's.</summary>
public static class ReactiveTime
{
    /// <summary>An Rx scheduler on this clock (see <see cref="TimeProviderScheduler"/>), so a <c>FakeTimeProvider</c> drives
    /// <c>Observable.Interval</c>, <c>Timer</c>, <c>Throttle</c> and <c>Buffer</c> in the same test as FlowKit's timeouts.</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>A scheduler whose <c>Now</c> and timers come from <paramref name="timeProvider"/>.</returns>
    /// <example><code>var ticks = Observable.Interval(TimeSpan.FromSeconds(1), fakeTime.ToScheduler());</code></example>
    public static IScheduler ToScheduler(this TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return new TimeProviderScheduler(timeProvider);
    }
}
