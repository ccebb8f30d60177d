using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project perf/FlowKit.Benchmarks -- --filter '*'
// Run one area: dotnet run -c Release --project perf/FlowKit.Benchmarks -- --filter '*Nursery*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
