using System.Diagnostics;
using System.Globalization;

using FlowKit.LoadTest;

// FlowKit's echo server against a plain .NET Socket echo server, on loopback.
//   dotnet run -c Release --project perf/FlowKit.LoadTest -- matrix [--duration 5] [--servers flowkit,raw] [--inline]
//   dotnet run -c Release --project perf/FlowKit.LoadTest -- server --impl flowkit|raw [--port 0]
//   dotnet run -c Release --project perf/FlowKit.LoadTest -- client --port P [--connections 10] [--size 1024] [--duration 5] [--mode pingpong|stream]
var options = Options.Parse(args.Skip(1).ToArray());
switch (args.FirstOrDefault())
{
    case "server":
        return await RunServerAsync(options);
    case "client":
        Print(await LoadClient.RunAsync(options.Int("port", 0), options.Get("mode", "pingpong"), options.Int("connections", 10), options.Int("size", 1024),
            TimeSpan.FromSeconds(options.Double("duration", 5))), cpuSeconds: null);
        return 0;
    case "matrix":
        return await Matrix.RunAsync(options);
    default:
        Console.Error.WriteLine("usage: FlowKit.LoadTest matrix|server|client [options] (see Program.cs)");
        return 2;
}

static async Task<int> RunServerAsync(Options options)
{
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };

    // The matrix driver stops the server by closing its standard input.
    _ = Task.Run(() =>
    {
        Console.In.ReadToEnd();
        stop.Cancel();
    });
    void Listening(int port) => Console.WriteLine($"port {port}");
    var port = options.Int("port", 0);
    if (options.Get("impl", "flowkit") == "raw")
    {
        await EchoServers.RunRawAsync(port, Listening, stop.Token);
    }
    else
    {
        await EchoServers.RunFlowKitAsync(port, Listening, stop.Token);
    }

    return 0;
}

static void Print(LoadResult r, double? cpuSeconds)
{
    var cpu = cpuSeconds is { } s && r.Requests > 0 ? $", server CPU {s * 1e6 / r.Requests:F1} µs/req" : string.Empty;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{r.Mode} {r.Connections} conn x {r.Size} B: {r.RequestsPerSecond:F0} req/s, {r.MiBPerSecond:F1} MiB/s, p50 {r.P50Us:F0} µs, p99 {r.P99Us:F0} µs, errors {r.Errors}{cpu}"));
}

/// <summary>Runs each server in its own process and the whole matrix against it, measuring the server's CPU time from /proc.</summary>
internal static class Matrix
{
    public static async Task<int> RunAsync(Options options)
    {
        var duration = TimeSpan.FromSeconds(options.Double("duration", 5));
        var servers = options.Get("servers", "raw,flowkit").Split(',');
        var points = new List<(string Mode, int Connections, int Size)>();
        foreach (var connections in new[] { 1, 10, 100 })
        {
            foreach (var size in new[] { 64, 1024, 65536 })
            {
                points.Add(("pingpong", connections, size));
            }
        }

        points.Add(("stream", 10, 65536));
        Console.WriteLine($"| server | mode | connections | size | req/s | MiB/s | p50 µs | p99 µs | server CPU µs/req | errors |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var failures = 0;
        foreach (var server in servers)
        {
            using var process = StartServer(server, options.Flag("inline"));
            var portLine = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the server did not start");
            var port = int.Parse(portLine["port ".Length..], CultureInfo.InvariantCulture);
            foreach (var (mode, connections, size) in points)
            {
                // A short warm-up so that tiering and the thread pool settle before measuring.
                await LoadClient.RunAsync(port, mode, connections, size, TimeSpan.FromMilliseconds(300));
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                var result = await LoadClient.RunAsync(port, mode, connections, size, duration);
                process.Refresh();
                var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
                failures += result.Errors > 0 ? 1 : 0;
                var label = server + (options.Flag("inline") ? " (inline completions)" : string.Empty);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {label} | {mode} | {connections} | {size} | {result.RequestsPerSecond:F0} | {result.MiBPerSecond:F1} | {result.P50Us:F0} | {result.P99Us:F0} | {cpu * 1e6 / Math.Max(1, result.Requests):F1} | {result.Errors} |"));
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync();
        }

        return failures == 0 ? 0 : 1;
    }

    private static Process StartServer(string impl, bool inline)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (!Environment.ProcessPath!.EndsWith("FlowKit.LoadTest", StringComparison.Ordinal))
        {
            info.ArgumentList.Add(typeof(Matrix).Assembly.Location);
        }

        info.ArgumentList.Add("server");
        info.ArgumentList.Add("--impl");
        info.ArgumentList.Add(impl);
        if (inline)
        {
            info.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
        }

        return Process.Start(info)!;
    }
}

/// <summary><c>--name value</c> options.</summary>
internal sealed class Options(Dictionary<string, string> values)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                values[args[i][2..]] = hasValue ? args[++i] : "true";
            }
        }

        return new Options(values);
    }

    public string Get(string name, string fallback) => values.TryGetValue(name, out var v) ? v : fallback;

    public int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public double Double(string name, double fallback) => double.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public bool Flag(string name) => values.ContainsKey(name);
}
