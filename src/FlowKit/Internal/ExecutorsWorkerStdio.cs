using System.Runtime.InteropServices;

using Microsoft.Win32.SafeHandles;

namespace FlowKit.Internal;

/// <summary>Moves a worker's protocol off the standard descriptors. The parent talks to the worker over its stdin and stdout,
/// but every child process a handler starts (git, ffmpeg, /bin/echo) inherits descriptors 0 and 1, and native code writes to 1
/// directly: either would read protocol bytes or write noise into the reply stream. At worker start the two pipes are duplicated
/// to private close-on-exec descriptors (invisible to children), descriptor 1 is pointed at stderr and descriptor 0 at
/// /dev/null, so whatever runs inside a handler sees ordinary standard streams that lead nowhere near the protocol.</summary>
internal static partial class ExecutorsWorkerStdio
{
    private const int LinuxDupFdCloexec = 1030;

    /// <summary>Returns the protocol's input and output streams; on Unix after moving them off descriptors 0 and 1.</summary>
    public static (Stream Input, Stream Output) TakeProtocolStreams()
    {
        if (OperatingSystem.IsWindows())
        {
            // Windows children inherit handles only when asked to; the standard handles are the remaining risk, documented.
            return (Console.OpenStandardInput(), Console.OpenStandardOutput());
        }

        Stream input;
        Stream output;
        if (OperatingSystem.IsLinux())
        {
            input = PrivateStream(DupCloseOnExec(0), FileAccess.Read);
            output = PrivateStream(DupCloseOnExec(1), FileAccess.Write);
        }
        else
        {
            // Elsewhere (macOS, BSD) fcntl's variadic calling convention differs from a fixed P/Invoke signature; the runtime's
            // console streams are themselves close-on-exec duplicates of the descriptors, so they serve as the private copies.
            input = Console.OpenStandardInput();
            output = Console.OpenStandardOutput();
        }

        Check(Dup2(2, 1), "point descriptor 1 at stderr");
        using (var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read))
        {
            Check(Dup2((int)devNull.DangerousGetHandle(), 0), "point descriptor 0 at /dev/null");
        }

        return (input, output);
    }

    private static int DupCloseOnExec(int fd)
    {
        var copy = FcntlInt(fd, LinuxDupFdCloexec, 3);
        Check(copy, $"duplicate descriptor {fd}");
        return copy;
    }

    private static FileStream PrivateStream(int fd, FileAccess access) => new(new SafeFileHandle(fd, ownsHandle: true), access, bufferSize: 0);

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw new IOException($"The worker could not {what} (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlInt(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);
}
