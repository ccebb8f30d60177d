using System.Diagnostics;

namespace FlowKit.Processes;

/// <summary>A snapshot of a child process handle.</summary>
/// <param name="ProcessId">The child's process id (also its process group id when <see cref="SubprocessOptions.NewProcessGroup"/> is on).</param>
/// <param name="HasExited">Whether the child has exited and been reaped.</param>
/// <param name="ExitCode">The exit code once it has exited.</param>
/// <param name="StandardInputBytes">Bytes written to the child's standard input so far.</param>
/// <param name="StandardOutputBytes">Bytes read from the child's standard output so far.</param>
/// <param name="StandardErrorBytes">Bytes read from the child's standard error so far.</param>
/// <param name="OutputReadPauses">How many times reading standard output paused because the caller's buffer was full.</param>
/// <param name="ErrorReadPauses">How many times reading standard error paused because the caller's buffer was full.</param>
/// <param name="StopRequested">Whether the handle has begun stopping the child (dispose, cancellation or <see cref="Subprocess.StopAsync"/>).</param>
[DebuggerDisplay("pid {ProcessId}, exited {HasExited}, out {StandardOutputBytes} B, pauses {OutputReadPauses}")]
public readonly record struct SubprocessStatistics(
    int ProcessId,
    bool HasExited,
    int? ExitCode,
    long StandardInputBytes,
    long StandardOutputBytes,
    long StandardErrorBytes,
    long OutputReadPauses,
    long ErrorReadPauses,
    bool StopRequested);
