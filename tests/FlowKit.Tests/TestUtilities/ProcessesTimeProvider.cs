using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.TestUtilities;

/// <summary>A FakeTimeProvider that tells the test when code under test creates a timer, so it can advance time after that, not before.</summary>
internal sealed class ProcessesTimeProvider : TimeProvider
{
    private readonly TaskCompletionSource _timerCreated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FakeTimeProvider Fake { get; } = new();

    /// <summary>Completes when the first timer has been created.</summary>
    public Task TimerCreated => _timerCreated.Task;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        _timerCreated.TrySetResult();
        return timer;
    }
}
