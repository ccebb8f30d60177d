namespace FlowKit.Processes;

/// <summary>The outcome of <see cref="Subprocess.RunAsync(string, IEnumerable{string}, SubprocessRunOptions?, CancellationToken)"/> (Trio's <c>CompletedProcess</c>).</summary>
/// <param name="ExitCode">The exit code; 128 + N when signal N killed the child.</param>
/// <param name="StandardOutput">The captured standard output when it was <see cref="SubprocessOutput.Pipe"/>, else the empty string.</param>
/// <param name="StandardError">The captured standard error when it was <see cref="SubprocessOutput.Pipe"/>, its bounded tail when it was
/// <see cref="SubprocessOutput.Drain"/>, else the empty string.</param>
public sealed record SubprocessResult(int ExitCode, string StandardOutput, string StandardError);
