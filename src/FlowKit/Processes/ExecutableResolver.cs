namespace FlowKit.Processes;

/// <summary>Finds a program the way <c>execvp</c> would, before starting it, so a missing one fails with its name.</summary>
internal static class ExecutableResolver
{
    private static readonly Lazy<string?> SetsidPath = new(() => TryFind("setsid", System.Environment.GetEnvironmentVariable("PATH")));

    internal static string? Setsid => SetsidPath.Value;

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
