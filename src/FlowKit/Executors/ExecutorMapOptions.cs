namespace FlowKit;

/// <summary>How <c>MapAsync</c> on an executor streams its results. Validated when used.</summary>
public sealed class ExecutorMapOptions
{
    /// <summary>The largest accepted <see cref="MaxInFlight"/> and <see cref="ChunkSize"/>.</summary>
    public const int MaxLimit = 1 << 20;

    /// <summary>True: results in input order (<c>executor.map</c>); false: as they complete (<c>imap_unordered</c>).</summary>
    /// <value>The default value is true.</value>
    public bool Ordered { get; init; } = true;

    /// <summary>The most items (for <see cref="ProcessExecutor"/>: chunks) submitted but not yet yielded; the input is not read
    /// further ahead. 0 chooses for the executor: max(2 × workers, 32) items for threads; (MaxItemsInFlightPerWorker + 1) × workers chunks for processes.</summary>
    /// <value>The default value is 0 (automatic).</value>
    public int MaxInFlight { get; init; }

    /// <summary>Items sent to a worker process in one message (<c>chunksize</c>); ignored by <see cref="ThreadExecutor"/>.
    /// 0 chooses 64, which amortises the round trip for small items; use 1 for long items so they spread across workers. A
    /// partial chunk is sent as soon as an asynchronous input does not have its next item ready, so items never wait for a
    /// chunk to fill.</summary>
    /// <value>The default value is 0 (automatic).</value>
    public int ChunkSize { get; init; }

    internal void Validate()
    {
        if (MaxInFlight is < 0 or > MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxInFlight), MaxInFlight, $"MaxInFlight must be between 0 (automatic) and {MaxLimit}.");
        }

        if (ChunkSize is < 0 or > MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, $"ChunkSize must be between 0 (automatic) and {MaxLimit}.");
        }
    }
}
