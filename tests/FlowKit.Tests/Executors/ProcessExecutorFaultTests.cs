using System.Diagnostics;
using System.Text.Json;

using Microsoft.Extensions.Time.Testing;

using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

namespace FlowKit.Tests.Executors;

/// <summary>Reliability family 11: process-pool fault injection. A dead worker fails only what it held, with its own
/// <see cref="WorkerCrashedException"/> naming the exit code, and is replaced; the pool keeps serving.</summary>
[TestClass]
public sealed class ProcessExecutorFaultTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120_000)]
    [DataRow("failfast")]
    [DataRow("exit99")]
    [DataRow("stackoverflow")]
    [DataRow("crash-thread")]
    public async Task WorkerCrashes_ItemFailsWithExitCode_AndPoolReplacesWorker(string kind)
    {
        var work = kind switch
        {
            "failfast" => TestWork.FailFast,
            "exit99" => TestWork.Exit99,
            "stackoverflow" => TestWork.StackOverflow,
            _ => TestWork.CrashOnOtherThread,
        };
        await using var pool = ExecutorsTestWorkers.Pool(workers: 2);
        var before = await pool.SubmitAsync(TestWork.Pid, 0);
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsExactlyAsync<WorkerCrashedException>(() => pool.SubmitAsync(work, 0));
        var latency = watch.Elapsed;
        TestContext.WriteLine($"family 11: {kind}: detected in {latency.TotalMilliseconds:F0} ms; {e.Message}");
        Console.WriteLine($"family 11: {kind}: detection latency {latency.TotalMilliseconds:F0} ms, exit code {e.ExitCode}, signal {e.Signal}");
        Assert.AreEqual(kind, e.WorkName);
        if (kind == "exit99")
        {
            Assert.AreEqual(99, e.ExitCode);
            Assert.IsNull(e.Signal);
            StringAssert.Contains(e.Message, "code 99");
        }
        else
        {
            Assert.AreNotEqual(0, e.ExitCode);
            Assert.IsNotNull(e.Signal, $"exit code {e.ExitCode}");
            StringAssert.Contains(e.Message, "signal");
        }

        // The pool keeps serving: later items succeed on the surviving and the replacement worker.
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => pool.SubmitAsync(TestWork.Square, (long)i)));
        Assert.AreEqual(49L * 49, results[^1]);
        var stats = pool.GetStatistics();
        Assert.AreEqual(1L, stats.WorkersLost);
        Assert.IsTrue(stats.LiveWorkers <= 2);
        Assert.IsTrue(ExecutorsTestWorkers.IsAlive(before) || stats.WorkersStarted >= 2);
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task WorkerKilledBySigkill_EveryHeldItemFailsWithItsOwnException()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1, inFlight: 3);
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        var held = Enumerable.Range(0, 3).Select(_ => pool.SubmitAsync(TestWork.WaitForCancel, 0)).ToArray();
        while (pool.GetStatistics().InFlightCalls < 3)
        {
            await Task.Yield();
        }

        var watch = Stopwatch.StartNew();
        Process.GetProcessById(pid).Kill();
        var errors = new List<WorkerCrashedException>();
        foreach (var t in held)
        {
            errors.Add(await Assert.ThrowsExactlyAsync<WorkerCrashedException>(() => t));
        }

        Console.WriteLine($"family 11: sigkill: detection latency {watch.Elapsed.TotalMilliseconds:F0} ms, exit code {errors[0].ExitCode}, signal {errors[0].Signal}");
        Assert.AreEqual(9, errors[0].Signal);
        Assert.AreEqual(137, errors[0].ExitCode);
        Assert.AreEqual(3, errors.Distinct().Count(), "each item gets its own exception instance");
        Assert.AreNotEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task HangingItem_TimeoutCancels_WorkerKilledExactlyAtGraceAndReplaced()
    {
        var time = new FakeTimeProvider();
        var grace = TimeSpan.FromSeconds(5);
        var options = ExecutorsTestWorkers.Options(grace: grace);
        await using var pool = new ProcessExecutor(1, new ProcessExecutorOptions
        {
            WorkerFileName = options.WorkerFileName,
            CancellationGracePeriod = grace,
            TimeProvider = time,
        });
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        using var timeout = new CancellationTokenSource();
        var path = Path.Combine(Path.GetTempPath(), $"flowkit-{Guid.NewGuid():N}.sock");
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var hung = pool.SubmitAsync(TestWork.SignalThenHang, path, timeout.Token);
        using (var started = await listener.AcceptAsync())
        {
            Assert.AreEqual(1, await started.ReceiveAsync(new byte[1]));
            File.Delete(path);
        }

        await timeout.CancelAsync();
        time.Advance(grace - TimeSpan.FromTicks(1));
        Assert.IsFalse(hung.IsCompleted, "the hanging item ignores its cancel frame until the grace period ends");
        Assert.IsTrue(ExecutorsTestWorkers.IsAlive(pid));
        var watch = Stopwatch.StartNew();
        time.Advance(TimeSpan.FromTicks(1));
        var e = await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => hung);
        Assert.AreEqual(timeout.Token, e.CancellationToken);
        Console.WriteLine($"family 11: hang: worker killed at exactly the grace tick; cancelled item completed {watch.Elapsed.TotalMilliseconds:F0} ms after it");
        Assert.IsFalse(ExecutorsTestWorkers.IsAlive(pid));
        Assert.AreNotEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
        Assert.AreEqual(1L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task CancellableItem_Cancelled_StopsInWorkerWithoutKillingIt()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        for (var i = 0; i < 20; i++)
        {
            using var cts = new CancellationTokenSource();
            var item = pool.SubmitAsync(TestWork.WaitForCancel, 0, cts.Token);
            if (i % 2 == 0)
            {
                while (pool.GetStatistics().InFlightCalls < 1)
                {
                    await Task.Yield();
                }
            }

            await cts.CancelAsync();
            await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => item);
        }

        Assert.AreEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
        Assert.AreEqual(0L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task QueuedItemCancelledBehindARunningOne_IsAnsweredAtOnce_AndTheRunningItemIsNotKilled()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1, grace: TimeSpan.FromMilliseconds(100));
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        for (var i = 0; i < 10; i++)
        {
            using var running = new CancellationTokenSource();
            using var queued = new CancellationTokenSource();
            var first = pool.SubmitAsync(TestWork.WaitForCancel, 0, running.Token);
            var second = pool.SubmitAsync(TestWork.Square, 3L, queued.Token);
            while (pool.GetStatistics().InFlightCalls < 2)
            {
                await Task.Yield();
            }

            await queued.CancelAsync();
            await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => second);
            Assert.IsFalse(first.IsCompleted, "the running item is untouched by its neighbour's cancellation");
            await running.CancelAsync();
            await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => first);
        }

        Assert.AreEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
        Assert.AreEqual(0L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SerializationFailures_AtFivePoints_FailOnlyThatItem()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);

        // 1. Argument serialisation in the parent: NaN is not valid JSON by default.
        var nanArg = new ProcessWork<double, int>("pid", TestJson.Default.Double, TestJson.Default.Int32);
        await Assert.ThrowsExactlyAsync<ArgumentException>(() => pool.SubmitAsync(nanArg, double.NaN));

        // 2. Argument deserialisation in the worker: a string where the handler expects an int.
        var wrongArg = new ProcessWork<string, int>("pid", TestJson.Default.String, TestJson.Default.Int32);
        var e2 = await Assert.ThrowsExactlyAsync<RemoteWorkException>(() => pool.SubmitAsync(wrongArg, "not a number"));
        Assert.AreEqual("System.Text.Json.JsonException", e2.RemoteTypeName);

        // 3. The body throws.
        await Assert.ThrowsExactlyAsync<RemoteWorkException>(() => pool.SubmitAsync(TestWork.Throw, "body"));

        // 4. Result serialisation in the worker: the handler returns NaN.
        var e4 = await Assert.ThrowsExactlyAsync<RemoteWorkException>(() => pool.SubmitAsync(TestWork.NaN, 0));
        Assert.AreEqual("System.ArgumentException", e4.RemoteTypeName);

        // 5. Result deserialisation in the parent: the worker returns a string where the parent expects an int.
        var wrongResult = new ProcessWork<string, int>("echo", TestJson.Default.String, TestJson.Default.Int32);
        await Assert.ThrowsExactlyAsync<JsonException>(() => pool.SubmitAsync(wrongResult, "text"));

        Assert.AreEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0), "no serialisation failure costs the worker");
        Console.WriteLine("family 11: serialization failures at 5 points: each failed its item only, worker kept");
    }
}
