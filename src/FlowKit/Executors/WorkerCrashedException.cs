namespace FlowKit;

/// <summary>The worker process that held an item died before replying (a crash, <c>Environment.FailFast</c>, a stack overflow,
/// a kill signal, <c>Environment.Exit</c>). The executor replaces the worker and keeps serving; only the items that worker held
/// fail, each with its own instance of this exception.</summary>
public sealed class WorkerCrashedException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public WorkerCrashedException()
        : this("A worker process exited before replying.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public WorkerCrashedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public WorkerCrashedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Describes a worker that exited with <paramref name="exitCode"/> while holding the item named <paramref name="workName"/>.</summary>
    /// <param name="processId">The worker's process id.</param>
    /// <param name="exitCode">The exit code as .NET reports it (on Unix, 128 + the signal number when a signal killed it).</param>
    /// <param name="signal">The signal that killed it, when known.</param>
    /// <param name="workName">The work the item named.</param>
    public WorkerCrashedException(int processId, int exitCode, int? signal, string workName)
        : base(Describe(processId, exitCode, signal, workName))
    {
        ProcessId = processId;
        ExitCode = exitCode;
        Signal = signal;
        WorkName = workName;
    }

    internal WorkerCrashedException(int processId, int exitCode, int? signal, string workName, string? protocolError)
        : base(protocolError is null
            ? Describe(processId, exitCode, signal, workName)
            : $"Worker process {processId} broke the protocol while running '{workName}' and was killed and replaced: {protocolError}",
            protocolError is null ? null : new InvalidDataException(protocolError))
    {
        ProcessId = processId;
        ExitCode = exitCode;
        Signal = signal;
        WorkName = workName;
    }

    /// <summary>The worker's process id.</summary>
    public int ProcessId { get; }

    /// <summary>The worker's exit code (on Unix, 128 + the signal number when a signal killed it).</summary>
    public int ExitCode { get; }

    /// <summary>The signal that killed the worker (6 SIGABRT for FailFast and crashes, 9 SIGKILL, 11 SIGSEGV), or null.</summary>
    public int? Signal { get; }

    /// <summary>The work the lost item named.</summary>
    public string? WorkName { get; }

    private static string Describe(int processId, int exitCode, int? signal, string workName)
    {
        var how = signal is { } s ? $"was killed by signal {s} ({SignalName(s)}; exit code {exitCode})" : $"exited with code {exitCode}";
        return $"Worker process {processId} {how} while running '{workName}'; the worker was replaced.";
    }

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "signal " + signal,
    };
}
