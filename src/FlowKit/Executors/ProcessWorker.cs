namespace FlowKit;

/// <summary>The worker side of <see cref="ProcessExecutor"/>: the same program, started with <see cref="WorkerArgument"/>,
/// serves the handlers of a <see cref="ProcessWorkerRegistry"/> over its stdin and stdout until its parent goes away.</summary>
/// <example>
/// <code>
/// static async Task&lt;int&gt; Main(string[] args)
/// {
///     if (await ProcessWorker.RunIfWorkerAsync(args, Registry)) return 0;
///     // ... the parent program ...
/// }
/// </code>
/// </example>
public static class ProcessWorker
{
    /// <summary>The command-line argument that marks a worker process; <see cref="ProcessExecutor"/> appends it.</summary>
    public const string WorkerArgument = "--flowkit-worker";

    /// <summary>True when <paramref name="args"/> mark this process as a worker.</summary>
    /// <param name="args">The program's arguments.</param>
    /// <returns>Whether <see cref="WorkerArgument"/> is present.</returns>
    public static bool IsWorker(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args.Contains(WorkerArgument);
    }

    /// <summary>When this process was started as a worker, serves <paramref name="registry"/>'s handlers until the parent closes
    /// the pipe (or dies) and returns true; otherwise returns false at once. Call it first in <c>Main</c>. On Unix the protocol
    /// pipes are first moved to private close-on-exec descriptors; file descriptor 1 then leads to stderr and descriptor 0 to
    /// /dev/null, so neither a handler's <c>Console.WriteLine</c>, nor native code writing to descriptor 1, nor a child process
    /// a handler starts (which inherits 0, 1 and 2) can touch the protocol. On Windows only <see cref="Console.Out"/> is
    /// redirected (to stderr).</summary>
    /// <param name="args">The program's arguments.</param>
    /// <param name="registry">The handlers this worker runs.</param>
    /// <param name="cancellationToken">Stops serving.</param>
    /// <returns>True when this process was a worker and has finished serving.</returns>
    public static async Task<bool> RunIfWorkerAsync(string[] args, ProcessWorkerRegistry registry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(registry);
        if (!IsWorker(args))
        {
            return false;
        }

        var (input, output) = Internal.ExecutorsWorkerStdio.TakeProtocolStreams();
        Console.SetOut(Console.Error);
        var maxFrame = int.TryParse(Environment.GetEnvironmentVariable(Internal.ExecutorsFrames.MaxFrameVariable), out var limit)
            && limit is >= ProcessExecutorOptions.MinAllowedFrameBytes and <= ProcessExecutorOptions.MaxAllowedFrameBytes
            ? limit
            : new ProcessExecutorOptions().MaxFrameBytes;
        await new ProcessWorkerHost(registry, input, output, maxFrame).RunAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }
}
