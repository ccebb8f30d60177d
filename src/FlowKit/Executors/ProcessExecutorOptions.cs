namespace FlowKit;

/// <summary>How a <see cref="ProcessExecutor"/> starts and manages its workers. Validated and copied by the constructor.</summary>
public sealed class ProcessExecutorOptions
{
    /// <summary>The program started as a worker; null starts the current program again (through the <c>dotnet</c> host with the
    /// entry assembly when the current process is <c>dotnet</c>). <see cref="ProcessWorker.WorkerArgument"/> is appended.</summary>
    /// <value>The default value is null (the current program).</value>
    public string? WorkerFileName { get; init; }

    /// <summary>Arguments before <see cref="ProcessWorker.WorkerArgument"/>; used with <see cref="WorkerFileName"/>.</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<string> WorkerArguments { get; init; } = [];

    /// <summary>Items a worker runs before it is replaced by a fresh process (<c>max_tasks_per_child</c>); 0 = never.</summary>
    /// <value>The default value is 0.</value>
    public int MaxTasksPerWorker { get; init; }

    /// <summary>Items (or chunks) sent to one worker before it replies, so the next is already there when one finishes. A worker
    /// runs one at a time; when it crashes, every item it held fails.</summary>
    /// <value>The default value is 2.</value>
    public int MaxItemsInFlightPerWorker { get; init; } = 2;

    /// <summary>How long a cancelled item's worker has to stop it before the worker is killed and replaced.</summary>
    /// <value>The default value is 2 seconds.</value>
    public TimeSpan CancellationGracePeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a worker has to exit after its input closes (at shutdown or recycling) before it is killed.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The largest accepted <see cref="MaxFrameBytes"/> (1 GiB).</summary>
    public const int MaxAllowedFrameBytes = 1 << 30;

    /// <summary>The smallest accepted <see cref="MaxFrameBytes"/> (4 KiB).</summary>
    public const int MinAllowedFrameBytes = 4 << 10;

    /// <summary>The largest message either side of a worker's pipe accepts: a request (one item's JSON argument, or a chunk of
    /// them, plus a few bytes of header) or a reply. An argument too large for it fails that call alone with
    /// <see cref="ArgumentException"/> before anything is sent; a result too large fails that call alone with
    /// <see cref="RemoteWorkException"/>; a worker that announces a larger frame is treated as corrupt and replaced, so a broken
    /// or hostile worker can make the parent buffer at most this much per worker.</summary>
    /// <value>The default value is 64 MiB.</value>
    public int MaxFrameBytes { get; init; } = 64 << 20;

    /// <summary>The clock for the grace period and shutdown timeout; null = <see cref="TimeProvider.System"/>.</summary>
    /// <value>The default value is null.</value>
    public TimeProvider? TimeProvider { get; init; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(WorkerArguments);
        if (WorkerFileName is { Length: 0 })
        {
            throw new ArgumentException("WorkerFileName must be null (the current program) or a program path.", nameof(WorkerFileName));
        }

        if (MaxTasksPerWorker < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTasksPerWorker), MaxTasksPerWorker, "MaxTasksPerWorker must be 0 (never recycle) or more.");
        }

        if (MaxItemsInFlightPerWorker is < 1 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxItemsInFlightPerWorker), MaxItemsInFlightPerWorker, "MaxItemsInFlightPerWorker must be between 1 and 1024.");
        }

        if (MaxFrameBytes is < MinAllowedFrameBytes or > MaxAllowedFrameBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFrameBytes), MaxFrameBytes, $"MaxFrameBytes must be between {MinAllowedFrameBytes} and {MaxAllowedFrameBytes}.");
        }

        if (CancellationGracePeriod < TimeSpan.Zero || CancellationGracePeriod > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(CancellationGracePeriod), CancellationGracePeriod, "CancellationGracePeriod must be between 0 and 1 day.");
        }

        if (ShutdownTimeout < TimeSpan.Zero || ShutdownTimeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), ShutdownTimeout, "ShutdownTimeout must be between 0 and 1 day.");
        }
    }
}
