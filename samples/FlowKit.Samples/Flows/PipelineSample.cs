using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

using Microsoft.Data.Sqlite;

namespace FlowKit.Samples.Flows;

/// <summary>
/// The flagship flow: a log file is read line by line, parsed (malformed lines skipped by policy), enriched with a concurrent async lookup,
/// batched by 500 lines or 200 ms, and written to SQLite one transaction per batch. A live progress line shows rows/s and what each stage
/// holds in its buffer; Ctrl+C stops every stage and leaves only whole batches in the database.
/// </summary>
public sealed class PipelineSample : ISample
{
    private const int BatchSize = 500;
    private static readonly TimeSpan BatchDelay = TimeSpan.FromMilliseconds(200);
    private static readonly string[] Levels = ["INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"];
    private static readonly string[] Services = ["auth", "billing", "search", "cart", "gateway"];

    public string Name => "pipeline";

    public string Description => "Flows: log file -> parse -> enrich (4 concurrent lookups) -> batch 500/200 ms -> SQLite transactions (--db, --lines, --log, --describe)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var db = Path.GetFullPath(context.Option("db", Path.Combine(Environment.CurrentDirectory, "flowkit-pipeline.db")));
        var lines = context.IntOption("lines", 200_000);
        var log = context.Option("log", string.Empty);
        var time = context.Time;
        var stats = new PipelineStats();
        var directory = new UserDirectory(time);
        await using var store = new BatchStore(db);

        var flow = BuildFlow(log.Length > 0 ? log : Path.ChangeExtension(db, ".log"), directory, store, stats, time, Path.GetFileName(db));
        if (context.Flag("describe"))
        {
            context.WriteLine(flow.Describe());
            return 0;
        }

        if (log.Length == 0)
        {
            log = Path.ChangeExtension(db, ".log");
            await GenerateLogAsync(log, lines, context.CancellationToken);
            context.WriteLine($"generated {lines:N0} log lines in {log}");
        }

        await store.OpenAsync(context.CancellationToken);
        context.WriteLine($"writing to {db}");
        var started = time.GetTimestamp();
        using var buffers = new BufferWatch(flow.FlowName);
        var exitCode = 0;
        try
        {
            await Nursery.RunAsync(
                async nursery =>
                {
                    nursery.StartSoon(ct => ReportProgressAsync(context, stats, buffers, started, ct));
                    try
                    {
                        await flow.CountAsync(nursery.CancellationToken);
                    }
                    finally
                    {
                        // The flow is over (done or stopped): stop the progress reporter too.
                        nursery.Cancel();
                    }
                },
                context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            context.WriteLine("stopped by Ctrl+C: every stage has stopped; only whole batches were committed");
            exitCode = 130;
        }

        var seconds = Math.Max(time.GetElapsedTime(started).TotalSeconds, 1e-3);
        context.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"summary: parsed {stats.Parsed:N0} lines (skipped {stats.Malformed:N0} malformed), enriched {stats.Enriched:N0} with {directory.Lookups:N0} lookups, " +
            $"committed {stats.Rows:N0} rows in {stats.Batches:N0} batches in {seconds:F1} s ({stats.Rows / seconds:N0} rows/s)"));
        return exitCode;
    }

    /// <summary>The pipeline, as a cold description (<c>--describe</c> prints it as Mermaid).</summary>
    internal static Flow<int> BuildFlow(string log, UserDirectory directory, BatchStore store, PipelineStats stats, TimeProvider time, string name) =>
        Flow.From(ReadLinesAsync(log)).WithFlowName("pipeline:" + name).Named("read")
            .Select(line => Parse(line, stats), new StageOptions { OnError = FlowErrorPolicy.Skip }).Named("parse")
            .Select(
                async (entry, ct) =>
                {
                    var user = await directory.LookupAsync(entry.UserId, ct);
                    stats.CountEnriched();
                    return entry with { Country = user.Country, Plan = user.Plan };
                },
                new StageOptions { Parallelism = 4, Capacity = 256 }).Named("enrich")
            .Batch(BatchSize, BatchDelay, time).Named("batch")
            .Select(
                async (batch, ct) =>
                {
                    await store.WriteAsync(batch, stats, ct);
                    return batch.Length;
                },
                new StageOptions { Capacity = 4, TimeProvider = time, OnError = FlowErrorPolicy.Retry(3, TimeSpan.FromMilliseconds(100)) }).Named("write");

    internal static LogEntry Parse(string line, PipelineStats stats)
    {
        // 2026-11-27T10:00:00.000Z INFO service=auth user=42 latency_ms=17 request handled
        var parts = line.Split(' ', 6);
        if (parts.Length < 6 || !parts[2].StartsWith("service=", StringComparison.Ordinal) || !parts[3].StartsWith("user=", StringComparison.Ordinal)
            || !parts[4].StartsWith("latency_ms=", StringComparison.Ordinal))
        {
            stats.CountMalformed();
            throw new FormatException($"malformed log line: {line}");
        }

        stats.CountParsed();
        return new LogEntry(
            parts[0],
            parts[1],
            parts[2]["service=".Length..],
            int.Parse(parts[3].AsSpan("user=".Length), CultureInfo.InvariantCulture),
            int.Parse(parts[4].AsSpan("latency_ms=".Length), CultureInfo.InvariantCulture),
            parts[5]);
    }

    private static async IAsyncEnumerable<string> ReadLinesAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var line in File.ReadLinesAsync(path, cancellationToken))
        {
            yield return line;
        }
    }

    private static async Task GenerateLogAsync(string path, int lines, CancellationToken cancellationToken)
    {
        var random = new Random(42);
        var start = new DateTime(2026, 11, 27, 10, 0, 0, DateTimeKind.Utc);
        await using var writer = new StreamWriter(path, append: false);
        for (var i = 0; i < lines; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (i % 1000 == 999)
            {
                await writer.WriteLineAsync("### truncated line ###");
                continue;
            }

            var at = start.AddMilliseconds(i * 3).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            await writer.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{at} {Levels[random.Next(Levels.Length)]} service={Services[random.Next(Services.Length)]} user={random.Next(500)} latency_ms={random.Next(1, 400)} request {i} handled"));
        }
    }

    private static async Task ReportProgressAsync(SampleContext context, PipelineStats stats, BufferWatch buffers, long started, CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), context.Time, cancellationToken);
            var seconds = Math.Max(context.Time.GetElapsedTime(started).TotalSeconds, 1e-3);
            var held = string.Join(", ", buffers.Sample().Select(kv => $"{kv.Key} {kv.Value}"));
            context.WriteLine(string.Create(CultureInfo.InvariantCulture, $"progress: {stats.Rows:N0} rows in {stats.Batches:N0} batches, {stats.Rows / seconds:N0} rows/s; buffered: {held}"));
        }
    }

    /// <summary>One parsed log line, enriched with the user's country and plan.</summary>
    internal sealed record LogEntry(string Timestamp, string Level, string Service, int UserId, int LatencyMs, string Message, string Country = "", string Plan = "");

    /// <summary>Counters the sample reports in its progress line and summary.</summary>
    internal sealed class PipelineStats
    {
        private long _parsed;
        private long _malformed;
        private long _enriched;
        private long _rows;
        private long _batches;

        public long Parsed => Interlocked.Read(ref _parsed);

        public long Malformed => Interlocked.Read(ref _malformed);

        public long Enriched => Interlocked.Read(ref _enriched);

        public long Rows => Interlocked.Read(ref _rows);

        public long Batches => Interlocked.Read(ref _batches);

        public void CountParsed() => Interlocked.Increment(ref _parsed);

        public void CountMalformed() => Interlocked.Increment(ref _malformed);

        public void CountEnriched() => Interlocked.Increment(ref _enriched);

        public void CountBatch(int rows)
        {
            Interlocked.Add(ref _rows, rows);
            Interlocked.Increment(ref _batches);
        }
    }

    /// <summary>A slow user service behind a cache: a miss costs a 5 ms round trip on the sample's clock.</summary>
    internal sealed class UserDirectory(TimeProvider time)
    {
        private static readonly string[] Countries = ["DE", "FR", "PL", "US", "JP", "BR"];
        private static readonly string[] Plans = ["free", "pro", "team"];
        private readonly ConcurrentDictionary<int, Task<(string Country, string Plan)>> _cache = new();
        private long _lookups;

        public long Lookups => Interlocked.Read(ref _lookups);

        public ValueTask<(string Country, string Plan)> LookupAsync(int userId, CancellationToken cancellationToken)
        {
            var task = _cache.GetOrAdd(userId, id => FetchAsync(id, cancellationToken));
            return task.IsCompletedSuccessfully ? new(task.Result) : new(task);
        }

        private async Task<(string Country, string Plan)> FetchAsync(int userId, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _lookups);
            await Task.Delay(TimeSpan.FromMilliseconds(5), time, cancellationToken);
            return (Countries[userId % Countries.Length], Plans[userId % Plans.Length]);
        }
    }

    /// <summary>Writes one batch per transaction: the batch row and its entries commit together or not at all.</summary>
    internal sealed class BatchStore(string path) : IAsyncDisposable
    {
        private SqliteConnection? _connection;

        public async Task OpenAsync(CancellationToken cancellationToken)
        {
            _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            await _connection.OpenAsync(cancellationToken);
            await using var command = _connection.CreateCommand();
            command.CommandText = """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY AUTOINCREMENT, item_count INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS entries (
                    batch_id INTEGER NOT NULL REFERENCES batches(id), ts TEXT NOT NULL, level TEXT NOT NULL, service TEXT NOT NULL,
                    user_id INTEGER NOT NULL, country TEXT NOT NULL, plan TEXT NOT NULL, latency_ms INTEGER NOT NULL, message TEXT NOT NULL);
                """;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        public async ValueTask WriteAsync(LogEntry[] batch, PipelineStats stats, CancellationToken cancellationToken)
        {
            var connection = _connection ?? throw new InvalidOperationException("The store is not open.");
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var header = connection.CreateCommand();
            header.Transaction = transaction;
            header.CommandText = "INSERT INTO batches (item_count) VALUES ($count); SELECT last_insert_rowid();";
            header.Parameters.AddWithValue("$count", batch.Length);
            var batchId = (long)(await header.ExecuteScalarAsync(cancellationToken))!;

            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO entries VALUES ($batch, $ts, $level, $service, $user, $country, $plan, $latency, $message)";
            var parameters = new[] { "$batch", "$ts", "$level", "$service", "$user", "$country", "$plan", "$latency", "$message" }
                .Select(n => insert.Parameters.Add(new SqliteParameter { ParameterName = n })).ToArray();
            foreach (var e in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                parameters[0].Value = batchId;
                parameters[1].Value = e.Timestamp;
                parameters[2].Value = e.Level;
                parameters[3].Value = e.Service;
                parameters[4].Value = e.UserId;
                parameters[5].Value = e.Country;
                parameters[6].Value = e.Plan;
                parameters[7].Value = e.LatencyMs;
                parameters[8].Value = e.Message;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            // Cancelled before this line: the transaction rolls back on dispose and the batch leaves no trace.
            await transaction.CommitAsync(cancellationToken);
            stats.CountBatch(batch.Length);
        }

        public async ValueTask DisposeAsync()
        {
            if (_connection is not null)
            {
                await _connection.DisposeAsync();
            }
        }
    }

    /// <summary>Reads the flow's per-stage <c>flowkit.flow.stage.buffered</c> gauge through a <see cref="MeterListener"/>, as a dashboard would.</summary>
    private sealed class BufferWatch : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, int> _latest = new();

        public BufferWatch(string flowName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "FlowKit" && instrument.Name == "flowkit.flow.stage.buffered")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
            {
                string? flow = null, stage = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "flowkit.flow")
                    {
                        flow = tag.Value as string;
                    }
                    else if (tag.Key == "flowkit.stage")
                    {
                        stage = tag.Value as string;
                    }
                }

                if (flow == flowName && stage is not null)
                {
                    _latest[stage] = value;
                }
            });
            _listener.Start();
        }

        public IEnumerable<KeyValuePair<string, int>> Sample()
        {
            _latest.Clear();
            _listener.RecordObservableInstruments();
            return _latest.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        }

        public void Dispose() => _listener.Dispose();
    }
}
