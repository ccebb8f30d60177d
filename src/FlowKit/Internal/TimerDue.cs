namespace FlowKit.Internal;

/// <summary>
/// How FlowKit arms an <see cref="ITimer"/> for a deadline. A timer is only a wake-up: every owner compares the clock when it fires and
/// re-arms for the rest when it woke early (the system timer counts whole milliseconds on a coarse tick and may fire up to a millisecond
/// before the instant), so a deadline never fires before its instant on any clock. Long waits are armed in steps, because
/// <see cref="ITimer.Change"/> refuses a due time beyond about 49.7 days.
/// </summary>
internal static class TimerDue
{
    /// <summary>The longest single arming; a longer wait re-arms when this step fires.</summary>
    internal static readonly TimeSpan MaxStep = TimeSpan.FromDays(40);

    private static readonly TimeSpan OneMillisecond = TimeSpan.FromMilliseconds(1);

    /// <summary>The due time to arm for <paramref name="remaining"/>: at most <see cref="MaxStep"/>, at least one tick; on the system clock
    /// rounded up to whole milliseconds (its timer truncates, so a sub-millisecond due would fire at once and spin).</summary>
    public static TimeSpan For(TimeProvider time, TimeSpan remaining)
    {
        if (remaining >= MaxStep)
        {
            return MaxStep;
        }

        if (remaining < TimeSpan.FromTicks(1))
        {
            remaining = TimeSpan.FromTicks(1);
        }

        if (ReferenceEquals(time, TimeProvider.System))
        {
            var ms = Math.Ceiling(remaining.TotalMilliseconds);
            return ms < 1 ? OneMillisecond : TimeSpan.FromMilliseconds(ms);
        }

        return remaining;
    }

    /// <summary>The timestamp (on <paramref name="time"/>'s monotonic clock) that lies <paramref name="delay"/> after <paramref name="now"/>,
    /// rounded up; <see cref="long.MaxValue"/> (never) when it is beyond the clock's range.</summary>
    public static long TimestampAfter(TimeProvider time, long now, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            return now;
        }

        var scaled = CeilDiv((Int128)delay.Ticks * time.TimestampFrequency, TimeSpan.TicksPerSecond);
        return scaled >= (Int128)long.MaxValue - now ? long.MaxValue : now + (long)scaled;
    }

    /// <summary>The time left from <paramref name="now"/> until <paramref name="target"/>, rounded up to a whole tick; zero or negative once
    /// reached, <see cref="TimeSpan.MaxValue"/> for <see cref="long.MaxValue"/> (never).</summary>
    public static TimeSpan Remaining(TimeProvider time, long now, long target)
    {
        if (target == long.MaxValue)
        {
            return TimeSpan.MaxValue;
        }

        var left = (Int128)target - now;
        if (left <= 0)
        {
            return TimeSpan.Zero;
        }

        var ticks = CeilDiv(left * TimeSpan.TicksPerSecond, time.TimestampFrequency);
        return ticks >= long.MaxValue ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
    }

    private static Int128 CeilDiv(Int128 value, long divisor) => (value + divisor - 1) / divisor;
}
