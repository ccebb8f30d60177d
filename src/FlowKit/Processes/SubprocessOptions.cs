using System.Text;

namespace FlowKit.Processes;

/// <summary>
/// How <see cref="Subprocess.Start(string, IEnumerable{string}, SubprocessOptions?, CancellationToken)"/> runs a child: its
/// directory and environment, what its standard streams are, how much output is buffered and how it is stopped. Values are
/// validated and copied when the child starts, so later changes have no effect on it.
/// </summary>
public class SubprocessOptions
{
    /// <summary>The child's working directory.</summary>
    /// <value>The default value is <see langword="null"/>: the parent's current directory.</value>
    public string? WorkingDirectory { get; set; }

    /// <summary>Variables to set in the child's environment on top of the parent's; a <see langword="null"/> value removes the variable.</summary>
    /// <value>The default value is an empty dictionary: the parent's environment unchanged.</value>
    public IDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>
    /// When <see langword="true"/>, <c>fileName</c> is a shell command line run by <c>/bin/sh -c</c>, and the arguments become
    /// <c>$1</c>, <c>$2</c>, ... . Off by default: arguments go to the program as they are, with no quoting or expansion.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool UseShell { get; set; }

    /// <summary>What the child reads as standard input.</summary>
    /// <value>The default value is <see cref="SubprocessInput.Pipe"/>.</value>
    public SubprocessInput StandardInput { get; set; } = SubprocessInput.Pipe;

    /// <summary>What happens to the child's standard output.</summary>
    /// <value>The default value is <see cref="SubprocessOutput.Pipe"/>.</value>
    public SubprocessOutput StandardOutput { get; set; } = SubprocessOutput.Pipe;

    /// <summary>
    /// What happens to the child's standard error. The default drains it into a bounded tail, so a child that writes a lot of
    /// diagnostics never blocks a caller that only reads standard output.
    /// </summary>
    /// <value>The default value is <see cref="SubprocessOutput.Drain"/>.</value>
    public SubprocessOutput StandardError { get; set; } = SubprocessOutput.Drain;

    /// <summary>
    /// How many unread bytes of standard output (and, when piped, standard error) are buffered in the parent before reading
    /// pauses; past it the OS pipe fills and the child blocks. Buffered bytes never exceed this plus one <see cref="ReadSize"/>.
    /// </summary>
    /// <value>The default value is 1 MiB. Allowed range: 1 to 1 GiB.</value>
    public int OutputBufferLimit { get; set; } = 1 << 20;

    /// <summary>How many bytes one read from a child's pipe asks for.</summary>
    /// <value>The default value is 64 KiB. Allowed range: 1 to 16 MiB.</value>
    public int ReadSize { get; set; } = 64 * 1024;

    /// <summary>How many bytes of standard input are buffered before they are written to the pipe (<see cref="StandardInputWriter.FlushAsync"/> sends them earlier).</summary>
    /// <value>The default value is 16 KiB. Allowed range: 1 to 16 MiB.</value>
    public int InputBufferSize { get; set; } = 16 * 1024;

    /// <summary>How many trailing bytes of standard error are kept for <see cref="Subprocess.StandardErrorTail"/> and <see cref="SubprocessException"/>.</summary>
    /// <value>The default value is 4096. Allowed range: 0 to 16 MiB.</value>
    public int TailBytes { get; set; } = 4096;

    /// <summary>The longest line, in bytes, that the line enumerables accept; a longer one fails the enumeration with <see cref="InvalidDataException"/>.</summary>
    /// <value>The default value is 1 MiB. Allowed range: 1 to 1 GiB.</value>
    public int MaxLineLength { get; set; } = 1 << 20;

    /// <summary>The text encoding of lines in and out. It must be ASCII-compatible (lines are split on the byte <c>\n</c>).</summary>
    /// <value>The default value is UTF-8 without a byte order mark.</value>
    public Encoding Encoding { get; set; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>How long a stopping child gets between SIGTERM and SIGKILL. <see cref="TimeSpan.Zero"/> sends SIGKILL at once.</summary>
    /// <value>The default value is 5 seconds (Trio's default). Allowed range: 0 to 1 day.</value>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Starts the child as the leader of a new process group (setpgid through a one-line perl exec wrapper, or a new session
    /// through <c>setsid</c> where perl is missing), so stopping it signals everything it started too, grandchildren included,
    /// even after the child itself has exited. Off, or where neither tool exists, only the child's tree as seen through
    /// <c>/proc</c> at stop time is killed. A child in its own group does not receive the terminal's Ctrl+C: the handle stops it.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool NewProcessGroup { get; set; } = true;

    /// <summary>
    /// Gives the child the default action for SIGPIPE (Python's <c>restore_signals</c>). The .NET runtime ignores SIGPIPE and
    /// a child would inherit that, so <c>yes | head</c> inside it would print "Broken pipe" errors instead of ending quietly.
    /// Done by the same exec wrapper as <see cref="NewProcessGroup"/> (perl, or GNU <c>env --default-signal</c>).
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool RestoreSignals { get; set; } = true;

    /// <summary>The clock for the grace period; <see langword="null"/> means <see cref="System.TimeProvider.System"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Copies every setting into a fresh <see cref="SubprocessOptions"/>, so the caller's object can change later without effect.</summary>
    internal SubprocessOptions Snapshot()
    {
        var copy = new SubprocessOptions
        {
            WorkingDirectory = WorkingDirectory,
            UseShell = UseShell,
            StandardInput = StandardInput,
            StandardOutput = StandardOutput,
            StandardError = StandardError,
            OutputBufferLimit = OutputBufferLimit,
            ReadSize = ReadSize,
            InputBufferSize = InputBufferSize,
            TailBytes = TailBytes,
            MaxLineLength = MaxLineLength,
            Encoding = Encoding,
            GracePeriod = GracePeriod,
            NewProcessGroup = NewProcessGroup,
            RestoreSignals = RestoreSignals,
            TimeProvider = TimeProvider,
        };
        foreach (var pair in Environment)
        {
            copy.Environment.Add(pair);
        }

        return copy;
    }
}
