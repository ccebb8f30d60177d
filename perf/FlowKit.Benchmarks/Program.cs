using BenchmarkDotNet.Running;

// The process executor benchmarks start this program as their worker processes.
if (await FlowKit.ProcessWorker.RunIfWorkerAsync(args, FlowKit.Benchmarks.Executors.BenchmarkWork.Registry))
{
    return;
}

// Run all: dotnet run -c Release --project perf/FlowKit.Benchmarks -- --filter '*'
// Run one area: dotnet run -c Release --project perf/FlowKit.Benchmarks -- --filter '*Nursery*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
