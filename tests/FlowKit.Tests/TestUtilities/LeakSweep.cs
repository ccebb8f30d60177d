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

    private static void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => Unobserved.Enqueue(e.Exception);
}
