using System.Collections.Concurrent;

namespace FlowKit.Tests.TestUtilities;

/// <summary>
/// Reliability family 29, the run-wide part: every task exception must be observed. A fault nobody awaited surfaces here as
/// <see cref="TaskScheduler.UnobservedTaskException"/> after a forced GC, and fails the run.
/// </summary>
[TestClass]
public static class LeakSweep
{
    private static readonly ConcurrentQueue<Exception> Unobserved = new();

    [AssemblyInitialize]
    public static void Start(TestContext context)
    {
        _ = context;
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    [AssemblyCleanup]
    public static void Finish()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        TaskScheduler.UnobservedTaskException -= OnUnobserved;
        Console.WriteLine($"Family 29: unobserved task exceptions = {Unobserved.Count}");
        if (!Unobserved.IsEmpty)
        {
            Assert.Fail("Unobserved task exceptions: " + string.Join(Environment.NewLine, Unobserved));
        }
    }

    /// <summary>Forces collections until an unobserved task exception matching <paramref name="match"/> has been recorded, then takes it
    /// out of the sweep (a test that provokes one on purpose checks it here; any other one still fails the run). Gives up after
    /// <paramref name="attempts"/> collections and returns null.</summary>
    public static async Task<Exception?> TakeUnobservedAsync(Func<Exception, bool> match, int attempts = 200)
    {
        for (var i = 0; i < attempts; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var kept = new List<Exception>();
            Exception? found = null;
            while (Unobserved.TryDequeue(out var e))
            {
                if (found is null && match(e))
                {
                    found = e;
                }
                else
                {
                    kept.Add(e);
                }
            }

            foreach (var e in kept)
            {
                Unobserved.Enqueue(e);
            }

            if (found is not null)
            {
                return found;
            }

            await FlowsTestSupport.YieldFairlyAsync();
        }

        return null;
    }

    private static void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => Unobserved.Enqueue(e.Exception);
}
