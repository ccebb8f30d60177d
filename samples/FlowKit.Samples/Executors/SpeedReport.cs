using System.Globalization;

namespace FlowKit.Samples.Executors;

/// <summary>Prints the timing lines the four executor samples share.</summary>
internal static class SpeedReport
{
    public static void Print(SampleContext context, string label, string result, TimeSpan elapsed) =>
        context.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: {result} in {elapsed.TotalMilliseconds:F0} ms"));

    public static void SpeedUp(SampleContext context, TimeSpan sequential, TimeSpan parallel) =>
        context.WriteLine(parallel > TimeSpan.Zero
            ? string.Create(CultureInfo.InvariantCulture, $"speed-up: {sequential / parallel:F2}x")
            : "speed-up: n/a (no time elapsed on this clock)");
}
