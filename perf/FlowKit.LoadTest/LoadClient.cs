using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FlowKit.LoadTest;

/// <summary>One load run's figures.</summary>
public sealed record LoadResult(string Mode, int Connections, int Size, double Seconds, long Requests, long Bytes, double P50Us, double P99Us, long Errors)
{
    public double RequestsPerSecond => Requests / Seconds;

    public double MiBPerSecond => Bytes / Seconds / (1024 * 1024);
}

/// <summary>The load generator: plain sockets on the client side, so both servers face the same client. Every echoed byte is checked.</summary>
public static class LoadClient
{
    // A pattern whose length is prime, so chunk boundaries never line up with it and misplaced bytes are caught.
    private const int PatternLength = 65521;
    private static readonly byte[] Pattern = CreatePattern();

    public static async Task<LoadResult> RunAsync(int port, string mode, int connections, int size, TimeSpan duration)
    {
        var sockets = new Socket[connections];
        for (var i = 0; i < connections; i++)
        {
            sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await sockets[i].ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        }

        using var stop = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        stop.CancelAfter(duration);
        var workers = sockets.Select((s, i) => mode == "stream"
            ? Task.Run(() => StreamAsync(s, size, stop.Token))
            : Task.Run(() => PingPongAsync(s, size, i, stop.Token))).ToArray();
        var results = await Task.WhenAll(workers);
        var seconds = watch.Elapsed.TotalSeconds;
        foreach (var s in sockets)
        {
            s.Dispose();
        }

        var latencies = results.SelectMany(r => r.Latencies).ToArray();
        Array.Sort(latencies);
        double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)(p * latencies.Length))] * 1e6 / Stopwatch.Frequency;
        return new LoadResult(mode, connections, size, seconds, results.Sum(r => r.Requests), results.Sum(r => r.Bytes),
            Percentile(0.50), Percentile(0.99), results.Sum(r => r.Errors));
    }

    private static async Task<(long Requests, long Bytes, List<long> Latencies, long Errors)> PingPongAsync(Socket socket, int size, int id, CancellationToken stop)
    {
        var send = new byte[size];
        var receive = new byte[size];
        var latencies = new List<long>(1 << 16);
        long requests = 0;
        long errors = 0;
        var random = new Random(id);
        random.NextBytes(send);
        while (!stop.IsCancellationRequested)
        {
            // Every request differs, so a server that echoed an old buffer would be caught.
            BitConverter.TryWriteBytes(send, requests);
            var start = Stopwatch.GetTimestamp();
            await SendAllAsync(socket, send);
            var filled = 0;
            while (filled < size)
            {
                var n = await socket.ReceiveAsync(receive.AsMemory(filled), SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("The server closed the connection.");
                }

                filled += n;
            }

            latencies.Add(Stopwatch.GetTimestamp() - start);
            if (!receive.AsSpan().SequenceEqual(send))
            {
                errors++;
            }

            requests++;
        }

        return (requests, requests * size, latencies, errors);
    }

    private static async Task<(long Requests, long Bytes, List<long> Latencies, long Errors)> StreamAsync(Socket socket, int size, CancellationToken stop)
    {
        long sent = 0;
        var sender = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var offset = (int)(sent % PatternLength);
                await SendAllAsync(socket, Pattern.AsMemory(offset, size));
                sent += size;
            }

            socket.Shutdown(SocketShutdown.Send);
        });

        var buffer = new byte[256 * 1024];
        long received = 0;
        long errors = 0;
        long chunks = 0;
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0)
            {
                break;
            }

            var offset = (int)(received % PatternLength);
            if (!buffer.AsSpan(0, n).SequenceEqual(Pattern.AsSpan(offset, n)))
            {
                errors++;
            }

            received += n;
            chunks++;
        }

        await sender;
        if (received != sent)
        {
            errors++;
        }

        return (received / size, received, [], errors);
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var n = await socket.SendAsync(data, SocketFlags.None);
            data = data[n..];
        }
    }

    private static byte[] CreatePattern()
    {
        // Long enough that any offset below PatternLength plus a chunk of up to 256 KiB stays inside.
        var pattern = new byte[PatternLength + 512 * 1024];
        for (var i = 0; i < pattern.Length; i++)
        {
            pattern[i] = (byte)((i % PatternLength) * 131 >> 3);
        }

        return pattern;
    }
}
