using System.Reflection;
using System.Text.Json.Serialization;

namespace FlowKit.Benchmarks.Executors;

/// <summary>Work the process executor benchmarks run in workers, and the command that starts this assembly as a worker from
/// inside BenchmarkDotNet's generated host process.</summary>
public static class BenchmarkWork
{
    public static readonly ProcessWorkerRegistry Registry = new();

    public static readonly ProcessWork<int, int> Identity = Registry.Register("identity", (int x) => x, BenchmarkJson.Default.Int32, BenchmarkJson.Default.Int32);

    public static readonly ProcessWork<int, int> CountPrimes = Registry.Register("count-primes", (int n) => Primes(n), BenchmarkJson.Default.Int32, BenchmarkJson.Default.Int32);

    public static int Primes(int below)
    {
        var count = 0;
        for (var n = 2; n < below; n++)
        {
            var prime = true;
            for (var d = 2; d * d <= n; d++)
            {
                if (n % d == 0)
                {
                    prime = false;
                    break;
                }
            }

            if (prime)
            {
                count++;
            }
        }

        return count;
    }

    public static ProcessExecutorOptions Options()
    {
        var dll = typeof(BenchmarkWork).Assembly.Location;
        var entry = Assembly.GetEntryAssembly()?.GetName().Name;
        var self = Environment.ProcessPath!;
        var selfIsDotnet = Path.GetFileNameWithoutExtension(self) == "dotnet";
        if (entry == "FlowKit.Benchmarks")
        {
            return selfIsDotnet ? new() { WorkerFileName = self, WorkerArguments = [dll] } : new() { WorkerFileName = self };
        }

        // Inside BenchmarkDotNet's generated host: run our assembly's Main with that host's runtime configuration.
        var dotnet = selfIsDotnet ? self : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var runtimeConfig = Path.Combine(AppContext.BaseDirectory, entry + ".runtimeconfig.json");
        return new() { WorkerFileName = dotnet, WorkerArguments = ["exec", "--runtimeconfig", runtimeConfig, dll] };
    }
}

[JsonSerializable(typeof(int))]
internal sealed partial class BenchmarkJson : JsonSerializerContext;
