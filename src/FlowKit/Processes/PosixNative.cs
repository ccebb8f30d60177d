using System.Runtime.InteropServices;

namespace FlowKit.Processes;

/// <summary>The few POSIX calls the BCL does not expose: sending any signal to a process or a process group.</summary>
internal static class PosixNative
{
    internal const int SigKill = 9;
    internal const int SigTerm = 15;
    private const int Esrch = 3;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/> (negative: to that process group); false when no such process exists.</summary>
    internal static bool Kill(int pid, int signal)
    {
        if (kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == Esrch
            ? false
            : throw new IOException($"kill({pid}, {signal}) failed with errno {errno}.");
    }

    /// <summary>The platform's number for <paramref name="signal"/>; raw positive values pass through.</summary>
    internal static int ToNative(PosixSignal signal)
    {
        if ((int)signal > 0)
        {
            return (int)signal;
        }

        var mac = OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();
        // Matched on the enum's values (-1 .. -10) so the mapping compiles for every platform (CA1416 flags the Unix-only names).
        return (int)signal switch
        {
            -1 => 1,            // SIGHUP
            -2 => 2,            // SIGINT
            -3 => 3,            // SIGQUIT
            -4 => 15,           // SIGTERM
            -5 => mac ? 20 : 17, // SIGCHLD
            -6 => mac ? 19 : 18, // SIGCONT
            -7 => 28,           // SIGWINCH
            -8 => 21,           // SIGTTIN
            -9 => 22,           // SIGTTOU
            -10 => mac ? 18 : 20, // SIGTSTP
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "signal must be a PosixSignal member or a positive raw signal number."),
        };
    }

    // A blittable signature: no marshalling code is generated, so this stays AOT- and trim-safe without LibraryImport.
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
