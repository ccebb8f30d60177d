using FlowKit;
using FlowKit.Processes;
using FlowKit.Samples;

// The executor samples start this same program as their worker processes.
if (await ProcessWorker.RunIfWorkerAsync(args, FlowKit.Samples.Executors.SampleWork.Registry))
{
    return 0;
}

if (args.Length == 0 || args[0] is "list" or "help" or "--help" or "-h")
{
    Console.WriteLine("FlowKit samples. Run one with: dotnet run --project samples/FlowKit.Samples -- <name> [options]");
    Console.WriteLine();
    foreach (var s in SampleCatalog.All)
    {
        Console.WriteLine($"  {s.Name,-14} {s.Description}");
    }

    return args.Length == 0 ? 1 : 0;
}

var sample = SampleCatalog.Find(args[0]);
if (sample is null)
{
    Console.Error.WriteLine($"Unknown sample '{args[0]}'. Run with 'list' to see them all.");
    return 2;
}

// First SIGINT/SIGTERM (Ctrl+C) asks the sample to stop cleanly; a second one kills the process.
using var shutdown = ShutdownSignal.Register();

var context = new SampleContext(Console.Out, args.Skip(1).ToArray(), TimeProvider.System, shutdown.Token);
try
{
    return await sample.RunAsync(context);
}
catch (OperationCanceledException) when (shutdown.IsShutdownRequested)
{
    Console.Error.WriteLine("Cancelled.");
    return 130;
}
