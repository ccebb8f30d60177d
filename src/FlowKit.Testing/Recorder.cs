using System.Reactive;

namespace FlowKit.Testing;

/// <summary>
/// Records what an observable or an async stream produced, with virtual timestamps from a <see cref="TimeProvider"/>, and checks the Rx
/// grammar as it goes: calls that overlap, and anything after <c>OnCompleted</c>/<c>OnError</c>, are counted in
/// <see cref="Violations"/> (and not recorded).
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
/// <example>
/// <code>
/// var recorder = Recorder&lt;long&gt;.Subscribe(Observable.Interval(TimeSpan.FromSeconds(1), clock.ToScheduler()).Take(3), clock);
/// await clock.AdvanceAsync(TimeSpan.FromSeconds(3));
/// CollectionAssert.AreEqual(new long[] { 0, 1, 2 }, recorder.Values.ToArray());
/// </code>
/// </example>
public sealed class Recorder<T> : IObserver<T>, IDisposable
{
    private readonly object _gate = new();
    private readonly List<Recorded<T>> _events = [];
    private readonly List<string> _violations = [];
    private readonly TaskCompletionSource _terminated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private readonly long _start;
    private IDisposable? _subscription;
    private int _inside;
    private bool _terminal;

    /// <summary>Creates a recorder whose timestamps come from <paramref name="timeProvider"/>.</summary>
    /// <param name="timeProvider">The clock; <see langword="null"/> means <see cref="TimeProvider.System"/>.</param>
    public Recorder(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _start = _time.GetTimestamp();
    }

    /// <summary>Every event so far, in order.</summary>
    public IReadOnlyList<Recorded<T>> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>The items so far, in order.</summary>
    public IReadOnlyList<T> Values
    {
        get
        {
            lock (_gate)
            {
                return [.. _events.Where(e => e.Notification.Kind == NotificationKind.OnNext).Select(e => e.Notification.Value)];
            }
        }
    }

    /// <summary>True once <c>OnCompleted</c> was recorded.</summary>
    public bool IsCompleted
    {
        get
        {
            lock (_gate)
            {
                return _events.Any(e => e.Notification.Kind == NotificationKind.OnCompleted);
            }
        }
    }

    /// <summary>The recorded error, or <see langword="null"/>.</summary>
    public Exception? Error
    {
        get
        {
            lock (_gate)
            {
                return _events.FirstOrDefault(e => e.Notification.Kind == NotificationKind.OnError).Notification?.Exception;
            }
        }
    }

    /// <summary>Breaches of the Rx grammar seen so far (overlapping calls, calls after the terminal event), described.</summary>
    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_gate)
            {
                return [.. _violations];
            }
        }
    }

    /// <summary>Completes when <c>OnCompleted</c> or <c>OnError</c> arrives (the task itself never fails).</summary>
    public Task Terminated => _terminated.Task;

    /// <summary>Subscribes a new recorder to <paramref name="source"/>; disposing the recorder disposes the subscription.</summary>
    /// <param name="source">The observable to record.</param>
    /// <param name="timeProvider">The clock for timestamps.</param>
    /// <returns>The recorder, already subscribed.</returns>
    public static Recorder<T> Subscribe(IObservable<T> source, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var recorder = new Recorder<T>(timeProvider);
        var subscription = source.Subscribe(recorder);
        if (Interlocked.CompareExchange(ref recorder._subscription, subscription, null) is not null)
        {
            subscription.Dispose();
        }

        return recorder;
    }

    /// <summary>Enumerates <paramref name="source"/> to its end and records every item, then the end (or the error the stream threw).</summary>
    /// <param name="source">The async stream to record.</param>
    /// <param name="timeProvider">The clock for timestamps.</param>
    /// <param name="cancellationToken">Stops the enumeration; the cancellation is recorded as the stream's error.</param>
    /// <returns>The recorder, terminated.</returns>
    public static async Task<Recorder<T>> RecordAsync(IAsyncEnumerable<T> source, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var recorder = new Recorder<T>(timeProvider);
        try
        {
            await foreach (var item in source.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                recorder.OnNext(item);
            }

            recorder.OnCompleted();
        }
        catch (Exception ex)
        {
            recorder.OnError(ex);
        }

        return recorder;
    }

    /// <inheritdoc />
    public void OnNext(T value) => Record(Notification.CreateOnNext(value));

    /// <inheritdoc />
    public void OnError(Exception error) => Record(Notification.CreateOnError<T>(error));

    /// <inheritdoc />
    public void OnCompleted() => Record(Notification.CreateOnCompleted<T>());

    /// <summary>Disposes the subscription made by <see cref="Subscribe"/>.</summary>
    public void Dispose() => Interlocked.Exchange(ref _subscription, new NoSubscription())?.Dispose();

    private void Record(Notification<T> notification)
    {
        if (Interlocked.Increment(ref _inside) != 1)
        {
            lock (_gate)
            {
                _violations.Add($"overlapping call: {notification}");
            }
        }

        try
        {
            lock (_gate)
            {
                if (_terminal)
                {
                    _violations.Add($"after the terminal event: {notification}");
                    return;
                }

                _events.Add(new Recorded<T>(_time.GetElapsedTime(_start), notification));
                _terminal = notification.Kind != NotificationKind.OnNext;
            }

            if (notification.Kind != NotificationKind.OnNext)
            {
                _terminated.TrySetResult();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inside);
        }
    }

    private sealed class NoSubscription : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
