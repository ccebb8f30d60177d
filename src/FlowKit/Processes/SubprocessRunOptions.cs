namespace FlowKit.Processes;

/// <summary>
/// Options for <see cref="Subprocess.RunAsync(string, IEnumerable{string}, SubprocessRunOptions?, CancellationToken)"/> (Trio's
/// <c>run_process</c>): everything <see cref="SubprocessOptions"/> has, plus the input to send and whether to check the exit code.
/// Standard output and error set to <see cref="SubprocessOutput.Pipe"/> are captured in the result; <see cref="SubprocessOutput.Inherit"/> streams them to the parent's.
/// </summary>
public sealed class SubprocessRunOptions : SubprocessOptions
{
    /// <summary>Creates options whose standard input is closed at once (nothing is sent unless <see cref="Input"/> is set).</summary>
    public SubprocessRunOptions()
    {
        StandardInput = SubprocessInput.Closed;
    }

    /// <summary>Bytes written to the child's standard input, which is then closed. Setting it makes standard input a pipe.</summary>
    /// <value>The default value is <see langword="null"/>: nothing is sent.</value>
    public ReadOnlyMemory<byte>? Input { get; set; }

    /// <summary>Whether a non-zero exit code throws <see cref="SubprocessException"/> with the code and the tail of standard error.</summary>
    /// <value>The default value is <see langword="true"/> (Trio's <c>check=True</c>).</value>
    public bool CheckExitCode { get; set; } = true;

    /// <summary>The most bytes captured from each piped stream; more fails the run with <see cref="InvalidDataException"/> (capture is explicit, never unbounded).</summary>
    /// <value>The default value is 64 MiB. Allowed range: 1 to 1 GiB.</value>
    public int MaxCaptureBytes { get; set; } = 64 << 20;
}
