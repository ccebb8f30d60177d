namespace FlowKit.Processes;

/// <summary>Writing to a child's standard input failed because the child closed it or exited (a broken pipe; Trio's <c>BrokenResourceError</c>).</summary>
public sealed class SubprocessInputClosedException : IOException
{
    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message, naming the program.</param>
    public SubprocessInputClosedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the I/O error that caused it.</summary>
    /// <param name="message">The message, naming the program.</param>
    /// <param name="innerException">The underlying error (usually EPIPE).</param>
    public SubprocessInputClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no details.</summary>
    public SubprocessInputClosedException()
        : this("The child process closed its standard input.")
    {
    }
}
