namespace FlowKit.Processes;

/// <summary>A child process exited with a code that the caller asked to check (Trio's <c>CalledProcessError</c>).</summary>
public sealed class SubprocessException : Exception
{
    /// <summary>Creates the exception for <paramref name="fileName"/> that exited with <paramref name="exitCode"/>.</summary>
    /// <param name="fileName">The program that was run.</param>
    /// <param name="exitCode">Its exit code (128 + N when signal N killed it).</param>
    /// <param name="standardErrorTail">The last part of its standard error (may be empty).</param>
    public SubprocessException(string fileName, int exitCode, string standardErrorTail)
        : base(BuildMessage(fileName, exitCode, standardErrorTail))
    {
        FileName = fileName;
        ExitCode = exitCode;
        StandardErrorTail = standardErrorTail;
    }

    /// <summary>Creates the exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public SubprocessException(string message)
        : base(message)
    {
        FileName = string.Empty;
        StandardErrorTail = string.Empty;
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public SubprocessException(string message, Exception innerException)
        : base(message, innerException)
    {
        FileName = string.Empty;
        StandardErrorTail = string.Empty;
    }

    /// <summary>Creates the exception with no details.</summary>
    public SubprocessException()
        : this("A child process failed.")
    {
    }

    /// <summary>The program that was run.</summary>
    public string FileName { get; }

    /// <summary>Its exit code: 128 + N when signal N killed it.</summary>
    public int ExitCode { get; }

    /// <summary>The last part of its standard error, decoded (bounded by <see cref="SubprocessOptions.TailBytes"/>).</summary>
    public string StandardErrorTail { get; }

    private static string BuildMessage(string fileName, int exitCode, string tail)
    {
        var how = exitCode > 128 && exitCode < 128 + 65 ? $"exited with code {exitCode} (killed by signal {exitCode - 128})" : $"exited with code {exitCode}";
        var trimmed = tail.TrimEnd();
        return trimmed.Length == 0 ? $"'{fileName}' {how}." : $"'{fileName}' {how}. Standard error ends with:{Environment.NewLine}{trimmed}";
    }
}
