using System.Diagnostics;

namespace FlowKit.Tests.TestUtilities;

/// <summary>Starts executor tests' worker processes (tests/FlowKit.Tests.Worker, copied beside the tests) and checks pids.</summary>
internal static class ExecutorsTestWorkers
{
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

    /// <summary>Polls until <paramref name="pid"/> is gone. A process that is not our child cannot be awaited, so this is the one
    /// place executor tests poll the operating system; it returns the time taken, or null past <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan?> WaitGoneAsync(int pid, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (IsAlive(pid))
        {
            if (watch.Elapsed > timeout)
            {
                return null;
            }

            await Task.Delay(10);
        }

        return watch.Elapsed;
    }
}
