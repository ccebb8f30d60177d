using System.Globalization;

namespace FlowKit.Tests.TestUtilities;

/// <summary>Reads /proc to check what the Processes tests leave behind: live processes, zombies, open descriptors.</summary>
internal static class ProcessesProcFs
{
    /// <summary>State letter, parent pid and process group of <paramref name="pid"/>, or null when it does not exist.</summary>
    public static (char State, int ParentId, int GroupId)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return null;
        }

        // The command name is in parentheses and may contain spaces: parse after the last ')'.
        var rest = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (rest[0][0], int.Parse(rest[1], CultureInfo.InvariantCulture), int.Parse(rest[2], CultureInfo.InvariantCulture));
    }

    /// <summary>True when <paramref name="pid"/> exists and is not a zombie.</summary>
    public static bool IsAlive(int pid) => Stat(pid) is { State: not 'Z' and not 'X' };

    /// <summary>Zombies whose parent is this test process (ours to reap).</summary>
    public static int OurZombies()
    {
        var self = Environment.ProcessId;
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && Stat(pid) is { State: 'Z' } s && s.ParentId == self)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Living processes whose parent is this test process.</summary>
    public static int OurLiveChildren()
    {
        var self = Environment.ProcessId;
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && Stat(pid) is { State: not 'Z' } s && s.ParentId == self)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Open file descriptors of this process.</summary>
    public static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>Whether <paramref name="pid"/> ignores SIGTERM (bit 15 of SigIgn in /proc/pid/status).</summary>
    public static bool IgnoresSigterm(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
            {
                var mask = ulong.Parse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                return (mask & (1UL << 14)) != 0;
            }
        }

        return false;
    }

    /// <summary>
    /// Waits until <paramref name="pid"/> is dead (gone or a zombie). SIGKILL is delivered asynchronously, and a grandchild is
    /// not ours to reap, so there is no event to await; this yields until the kernel has finished it or the limit passes.
    /// </summary>
    public static async Task<bool> WaitUntilDeadAsync(int pid, TimeSpan limit)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (IsAlive(pid))
        {
            if (sw.Elapsed > limit)
            {
                return false;
            }

            await Task.Yield();
        }

        return true;
    }
}
