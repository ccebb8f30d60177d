namespace FlowKit.Processes;

/// <summary>Finds a program the way <c>execvp</c> would, before starting it, so a missing one fails with its name.</summary>
internal static class ExecutableResolver
{
    private static readonly Lazy<string?> SetsidPath = new(() => TryFind("setsid", System.Environment.GetEnvironmentVariable("PATH")));

    private static readonly Lazy<string?> EnvPath = new(FindEnvWithDefaultSignal);
    private static readonly Lazy<string?> PerlPath = new(() => TryFind("perl", System.Environment.GetEnvironmentVariable("PATH")));

    /// <summary>perl (Essential on Debian and Ubuntu), used as a one-line exec wrapper that can setpgid and reset SIGPIPE, or null.</summary>
    internal static string? Perl => PerlPath.Value;

    internal static string? Setsid => SetsidPath.Value;

    /// <summary>GNU env 8.31+ (it has <c>--default-signal</c>), used to give the child back the default SIGPIPE action, or null.</summary>
    internal static string? EnvWithDefaultSignal => EnvPath.Value;

    private static string? FindEnvWithDefaultSignal()
    {
        var env = TryFind("env", System.Environment.GetEnvironmentVariable("PATH"));
        if (env is null)
        {
            return null;
        }

        try
        {
            // Looking for the option's name in the binary avoids starting a process just to probe it.
            var bytes = File.ReadAllBytes(env);
            return bytes.AsSpan().IndexOf("default-signal"u8) >= 0 ? env : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    internal static string Resolve(string fileName, string? path, string? workingDirectory)
    {
        if (fileName.Contains('/'))
        {
            var full = Path.GetFullPath(fileName, workingDirectory ?? System.Environment.CurrentDirectory);
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"Cannot start '{fileName}': the file '{full}' does not exist.", fileName);
            }

            return IsExecutable(full)
                ? full
                : throw new UnauthorizedAccessException($"Cannot start '{fileName}': '{full}' is not executable.");
        }

        return TryFind(fileName, path)
            ?? throw new FileNotFoundException($"Cannot start '{fileName}': no executable of that name was found on PATH ({path ?? "unset"}).", fileName);
    }

    private static string? TryFind(string fileName, string? path)
    {
        foreach (var directory in (path ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(directory.Length == 0 ? "." : directory, fileName);
            if (File.Exists(candidate) && IsExecutable(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    private static bool IsExecutable(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(file) & anyExecute) != 0;
    }
}
