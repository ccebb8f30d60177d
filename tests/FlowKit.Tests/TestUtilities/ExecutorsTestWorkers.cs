using System.Diagnostics;

namespace FlowKit.Tests.TestUtilities;

/// <summary>Starts executor tests' worker processes (tests/FlowKit.Tests.Worker, copied beside the tests) and checks pids.</summary>
internal static class ExecutorsTestWorkers
{
    /// <summary>True under FLOWKIT_TEST_STRESS=1: the executor tests then repeat their races many more times.</summary>
    public static bool Stress => Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1";

    public static string WorkerPath => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "FlowKit.Tests.Worker.exe" : "FlowKit.Tests.Worker");

    public static ProcessExecutorOptions Options(int maxTasksPerWorker = 0, TimeSpan? grace = null, int inFlight = 2) => new()
    {
        WorkerFileName = WorkerPath,
        MaxTasksPerWorker = maxTasksPerWorker,
        CancellationGracePeriod = grace ?? TimeSpan.FromSeconds(2),
        MaxItemsInFlightPerWorker = inFlight,
    };

    public static ProcessExecutor Pool(int workers = 2, int maxTasksPerWorker = 0, TimeSpan? grace = null, int inFlight = 2) =>
        new(workers, Options(maxTasksPerWorker, grace, inFlight));

    /// <summary>True while the process exists and is not a zombie (an orphan's zombie stays until PID 1 reaps it, which a container's
    /// PID 1 may never do; it holds no resources).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Waits until <paramref name="pid"/> has exited (a process that is not our child cannot be awaited through
    /// <see cref="Process"/>, so this uses Linux's pidfd: poll(2) on it returns when the process exits, no sleeping or polling loop).
    /// Returns the time taken, or null past <paramref name="timeout"/>.</summary>
    public static Task<TimeSpan?> WaitGoneAsync(int pid, TimeSpan timeout) => Task.Factory.StartNew<TimeSpan?>(() =>
    {
        var watch = Stopwatch.StartNew();
        var fd = PidfdOpen(pid);
        if (fd < 0)
        {
            // ESRCH: already gone (and reaped).
            return IsAlive(pid) ? null : watch.Elapsed;
        }

        try
        {
            var poll = new PollFd { Fd = fd, Events = 1 /* POLLIN */ };
            var ready = Poll(ref poll, 1, (int)timeout.TotalMilliseconds);
            return ready > 0 || !IsAlive(pid) ? watch.Elapsed : null;
        }
        finally
        {
            _ = Close(fd);
        }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static int PidfdOpen(int pid) => (int)Syscall(434 /* SYS_pidfd_open, x86_64 and arm64 */, pid, 0);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long Syscall(long number, int pid, uint flags);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll(ref PollFd fds, ulong count, int timeoutMilliseconds);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
