using System.Text.Json.Serialization;

namespace FlowKit.Samples.Executors;

/// <summary>The work the samples run in worker processes. The samples program calls
/// <see cref="ProcessWorker.RunIfWorkerAsync"/> with this registry first, so the same program serves as the worker.</summary>
public static class SampleWork
{
    public static readonly ProcessWorkerRegistry Registry = new();

    /// <summary>Counts the primes in a half-open range: CPU-bound.</summary>
    public static readonly ProcessWork<PrimeRange, int> CountPrimes =
        Registry.Register("count-primes", (PrimeRange r) => Primes.CountInRange(r), SampleJson.Default.PrimeRange, SampleJson.Default.Int32);

    /// <summary>Worker options from the sample's arguments: <c>--worker path</c> names the worker program (tests pass the
    /// samples program's path, since their own process is the test host); by default the current program.</summary>
    public static ProcessExecutorOptions Options(SampleContext context)
    {
        var worker = context.Option("worker", string.Empty);
        return worker.Length == 0 ? new ProcessExecutorOptions() : new ProcessExecutorOptions { WorkerFileName = worker };
    }
}

/// <summary>A half-open range of integers [Start, End).</summary>
public sealed record PrimeRange(int Start, int End)
{
    public override string ToString() => $"[{Start:N0}, {End:N0})";

    /// <summary>Splits [0, limit) into <paramref name="parts"/> ranges.</summary>
    public static PrimeRange[] Split(int limit, int parts)
    {
        var size = (limit + parts - 1) / parts;
        return [.. Enumerable.Range(0, parts).Select(i => new PrimeRange(i * size, Math.Min(limit, (i + 1) * size))).Where(r => r.Start < r.End)];
    }
}

[JsonSerializable(typeof(PrimeRange))]
[JsonSerializable(typeof(int))]
internal sealed partial class SampleJson : JsonSerializerContext;
