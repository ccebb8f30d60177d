using System.Text.RegularExpressions;

using FlowKit.Samples;
using FlowKit.Tests.TestUtilities;

using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Flows;

[TestClass]
public sealed partial class PipelineSampleTests
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task Pipeline_SmallLog_WritesEveryParsedLineInWholeBatches()
    {
        using var dir = new TempDir();
        var db = Path.Combine(dir.Path, "small.db");
        var time = new FakeTimeProvider();
        var output = new StringWriter();
        var context = new SampleContext(TextWriter.Synchronized(output), ["--db", db, "--lines", "3000"], time);

        var run = SampleCatalog.Find("pipeline")!.RunAsync(context);
        await FlowsTestSupport.AdvanceUntilAsync(time, run, TimeSpan.FromMilliseconds(5));

        Assert.AreEqual(0, await run, output.ToString());
        var text = output.ToString();
        StringAssert.Contains(text, "generated 3,000 log lines");
        StringAssert.Contains(text, "parsed 2,997 lines (skipped 3 malformed)");
        StringAssert.Matches(text, new Regex(@"enriched 2,997 with \d{3} lookups"));
        StringAssert.Contains(text, "committed 2,997 rows in");
        var (rows, batches) = AssertEveryBatchWhole(db);
        Assert.AreEqual(2_997, rows);
        Assert.IsTrue(batches >= 6, $"{batches} batches for 2,997 rows of at most 500");
    }

    [TestMethod]
    [Timeout(90_000)]
    public async Task Pipeline_CancelledMidRun_StopsCleanlyWithOnlyWholeBatchesCommitted()
    {
        // The cancel goes in as soon as the progress line shows a committed batch. On a busy machine the pipeline (real time) can
        // outrun the test's fake clock and finish all 200,000 lines before the cancel lands; that attempt proves nothing about a
        // stop half-way (its batches are still checked whole) and the test tries again, up to 5 times.
        var attempts = new List<string>();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var dir = new TempDir();
            var db = Path.Combine(dir.Path, "cancel.db");
            var time = new FakeTimeProvider();
            var output = new StringWriter();
            using var cts = new CancellationTokenSource();
            var writer = TextWriter.Synchronized(output);
            var context = new SampleContext(writer, ["--db", db, "--lines", "200000"], time, cts.Token);

            var run = SampleCatalog.Find("pipeline")!.RunAsync(context);
            var clock = FlowsTestSupport.AdvanceUntilAsync(time, run, TimeSpan.FromMilliseconds(5));

            // TextWriter.Synchronized locks the wrapper on every write; take the same lock to read a consistent snapshot.
            string Snapshot()
            {
                lock (writer)
                {
                    return output.ToString();
                }
            }

            await FlowsTestSupport.WaitUntilAsync(() => run.IsCompleted || ProgressWithBatches().IsMatch(Snapshot()));
            cts.Cancel();
            var exit = await run;
            await clock;

            var text = Snapshot();
            var (rows, batches) = AssertEveryBatchWhole(db);
            if (rows == 199_800)
            {
                // Finished everything: it returned normally, or the cancel landed during its shutdown and it says so.
                Assert.IsTrue(exit == 0 || (exit == 130 && text.Contains("stopped by Ctrl+C", StringComparison.Ordinal)), text);
                attempts.Add($"attempt {attempt}: finished all {rows:N0} rows (exit {exit}) before the cancel landed");
                continue;
            }

            Assert.AreEqual(130, exit, text);
            StringAssert.Contains(text, "stopped by Ctrl+C");
            Assert.IsTrue(batches >= 1, text);
            Console.WriteLine($"pipeline sample cancelled mid-run: {rows:N0} rows in {batches} whole batches committed, none partial" +
                              (attempts.Count > 0 ? $" ({string.Join("; ", attempts)})" : string.Empty));
            return;
        }

        Assert.Fail(string.Join(Environment.NewLine, attempts));
    }

    /// <summary>Every committed batch has exactly the rows its header says, and no row belongs to a batch that was not committed.</summary>
    private static (long Rows, long Batches) AssertEveryBatchWhole(string db)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var check = connection.CreateCommand();
        check.CommandText = """
            SELECT
              (SELECT COUNT(*) FROM batches b WHERE b.item_count <> (SELECT COUNT(*) FROM entries e WHERE e.batch_id = b.id)),
              (SELECT COUNT(*) FROM entries e WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = e.batch_id)),
              (SELECT COUNT(*) FROM entries),
              (SELECT COUNT(*) FROM batches),
              (SELECT COALESCE(MAX(item_count), 0) FROM batches)
            """;
        using var reader = check.ExecuteReader();
        Assert.IsTrue(reader.Read());
        Assert.AreEqual(0L, reader.GetInt64(0), "batches whose rows do not match their count");
        Assert.AreEqual(0L, reader.GetInt64(1), "rows without a committed batch");
        Assert.IsTrue(reader.GetInt64(4) <= 500, "a batch larger than 500");
        return (reader.GetInt64(2), reader.GetInt64(3));
    }

    [GeneratedRegex(@"progress: [\d,]+ rows in [1-9][\d,]* batches")]
    private static partial Regex ProgressWithBatches();

    private sealed class TempDir : IDisposable
    {
        public TempDir()
        {
            Path = Directory.CreateTempSubdirectory("flowkit-pipeline-").FullName;
        }

        public string Path { get; }

        public void Dispose()
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(Path, recursive: true);
        }
    }
}
