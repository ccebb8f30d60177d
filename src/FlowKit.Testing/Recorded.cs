using System.Reactive;

namespace FlowKit.Testing;

/// <summary>One event seen by a <see cref="Recorder{T}"/>: when it happened (virtual time since recording started) and what it was.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Time">Virtual time since the recorder was created.</param>
/// <param name="Notification">The item, the completion or the error.</param>
public readonly record struct Recorded<T>(TimeSpan Time, Notification<T> Notification)
{
    /// <summary>Formats the event like <c>@00:00:01 OnNext(3)</c>.</summary>
    /// <returns>The event as text.</returns>
    public override string ToString() => $"@{Time:c} {Notification}";
}
