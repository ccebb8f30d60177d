namespace FlowKit.Processes;

/// <summary>What a child process gets as its standard input.</summary>
public enum SubprocessInput
{
    /// <summary>A pipe the parent writes through <see cref="Subprocess.StandardInput"/> and closes explicitly.</summary>
    Pipe,

    /// <summary>A pipe closed at once: the child reads end of file immediately.</summary>
    Closed,

    /// <summary>The parent's own standard input.</summary>
    Inherit,
}
