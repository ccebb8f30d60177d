using System.Diagnostics;

using FlowKit.Tests.TestUtilities;
using FlowKit.Tests.Worker;

namespace FlowKit.Tests.Executors;

/// <summary>Process workers under hostile or careless inputs: frame limits checked where the size is known, a handler's child
/// processes kept off the protocol descriptors, and kill timers that never act before their deadline.</summary>
[TestClass]
public sealed class ProcessExecutorHardeningTests
{
    private const int SmallLimit = 64 << 10;

    [TestMethod]
    [Timeout(60_000)]
    public async Task OversizedArgument_RejectedAtSubmit_InnocentCallOnTheSameWorkerUnaffected()
    {
        await using var pool = new ProcessExecutor(1, Limited(SmallLimit));
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        using var innocentCancel = new CancellationTokenSource();
        var innocent = pool.SubmitAsync(TestWork.WaitForCancel, 0, innocentCancel.Token);
        while (pool.GetStatistics().InFlightCalls < 1)
        {
            await Task.Yield();
        }

        var oversized = new string('x', SmallLimit);
        var e = await Assert.ThrowsExactlyAsync<ArgumentException>(() => pool.SubmitAsync(TestWork.Echo, oversized).WaitAsync(TimeSpan.FromSeconds(20)));
        StringAssert.Contains(e.Message, "MaxFrameBytes");
        Assert.AreEqual("input", e.ParamName);

        // The innocent call is still running on the same worker: it ends only when cancelled, as cancelled.
        Assert.IsFalse(innocent.IsCompleted);
        await innocentCancel.CancelAsync();
        await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => innocent);
        Assert.AreEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
        var stats = pool.GetStatistics();
        Assert.AreEqual(1L, stats.WorkersStarted);
        Assert.AreEqual(0L, stats.WorkersLost);

        // Just under the limit still goes through.
        var fits = new string('y', SmallLimit - 200);
        Assert.AreEqual(fits, await pool.SubmitAsync(TestWork.Echo, fits));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task MapAsync_ChunkLargerThanTheLimit_IsSplit_AndOneOversizedItemFailsTheEnumeration()
    {
        await using var pool = new ProcessExecutor(1, Limited(SmallLimit));

        // 64 items of 4 KiB make a 256 KiB chunk: sent as several frames, results unchanged and in order.
        var inputs = Enumerable.Range(0, 200).Select(static i => i.ToString("D4") + new string('z', 4 << 10)).ToArray();
        var results = new List<string>();
        await foreach (var r in pool.MapAsync(TestWork.Echo, inputs))
        {
            results.Add(r);
        }

        CollectionAssert.AreEqual(inputs, results);

        var withHuge = inputs.Take(10).Append(new string('h', SmallLimit)).Concat(inputs.Take(10));
        await Assert.ThrowsExactlyAsync<ArgumentException>(async () =>
        {
            await foreach (var _ in pool.MapAsync(TestWork.Echo, withHuge))
            {
            }
        });
        Assert.AreEqual(0L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task OversizedReply_FailsThatCallOnly_WorkerSurvives()
    {
        await using var pool = new ProcessExecutor(1, Limited(SmallLimit));
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        var e = await Assert.ThrowsExactlyAsync<RemoteWorkException>(() => pool.SubmitAsync(TestWork.Repeat, 2 * SmallLimit));
        StringAssert.Contains(e.RemoteMessage, "MaxFrameBytes");
        Assert.AreEqual(1000, (await pool.SubmitAsync(TestWork.Repeat, 1000)).Length);
        Assert.AreEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
        Assert.AreEqual(0L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task HostileWorker_AnnouncesAHugeFrame_RefusedAtOnceWithAClearError()
    {
        await using var pool = new ProcessExecutor(1, new ProcessExecutorOptions
        {
            WorkerFileName = ExecutorsTestWorkers.WorkerPath,
            WorkerArguments = ["--hostile-frame"],
        });
        var watch = Stopwatch.StartNew();
        var call = pool.SubmitAsync(TestWork.Echo, "innocent");
        var finished = await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.AreSame(call, finished, "the parent kept waiting for a 200 MiB frame");
        var e = await Assert.ThrowsExactlyAsync<WorkerCrashedException>(() => call);
        Console.WriteLine($"hostile 200 MiB frame refused after {watch.Elapsed.TotalMilliseconds:F0} ms: {e.Message}");
        StringAssert.Contains(e.Message, "MaxFrameBytes");
        Assert.AreEqual(1L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task LargeArgumentAndResult_UnderTheDefaultLimit_RoundTripWhole()
    {
        // 8 MiB each way: many times the pipe's buffer, so both sides must write and read partial pipe transfers whole.
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var big = string.Create(8 << 20, 0, static (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + (i % 26));
            }
        });
        Assert.AreEqual(big, await pool.SubmitAsync(TestWork.Echo, big));
        Assert.AreEqual(8 << 20, (await pool.SubmitAsync(TestWork.Repeat, 8 << 20)).Length);
        Assert.AreEqual(0L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task WorkerSide_FrameAboveItsLimit_RefusedWithAClearMessage_WorkerEnds()
    {
        // The worker enforces the limit its parent gave it: a longer frame is never buffered, the worker says why on stderr
        // and ends as if the pipe broke.
        var info = new ProcessStartInfo(ExecutorsTestWorkers.WorkerPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ProcessWorker.WorkerArgument);
        info.Environment["FLOWKIT_WORKER_MAX_FRAME_BYTES"] = "4096";
        using var worker = Process.Start(info)!;
        var stderr = worker.StandardError.ReadToEndAsync();
        var stdout = worker.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        await worker.StandardInput.BaseStream.WriteAsync(BitConverter.GetBytes(8192));
        await worker.StandardInput.BaseStream.FlushAsync();
        await worker.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await stdout;
        var message = await stderr;
        StringAssert.Contains(message, "8192 bytes");
        StringAssert.Contains(message, "MaxFrameBytes");
        worker.StandardInput.Close();
    }

    [TestMethod]
    [Timeout(60_000)]
    public void Options_MaxFrameBytes_Validated()
    {
        Assert.AreEqual(64 << 20, new ProcessExecutorOptions().MaxFrameBytes);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProcessExecutor(1, new ProcessExecutorOptions { MaxFrameBytes = 100 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProcessExecutor(1, new ProcessExecutorOptions { MaxFrameBytes = int.MaxValue }));
    }

    [TestMethod]
    [Timeout(90_000)]
    public async Task HandlerChildProcessesAndRawFd1Writes_DoNotTouchTheProtocol_WorkerSurvives()
    {
        await using var pool = ExecutorsTestWorkers.Pool(workers: 1);
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 5; i++)
        {
            Assert.AreEqual(0, await pool.SubmitAsync(TestWork.RunEcho, "echo noise " + i).WaitAsync(bound.Token), "/bin/echo from a handler");
            Assert.AreEqual("fd" + i, await pool.SubmitAsync(TestWork.WriteFd1, "fd" + i).WaitAsync(bound.Token), "a raw write to fd 1");
            Assert.AreEqual(0, await pool.SubmitAsync(TestWork.RunCat, "cat").WaitAsync(bound.Token), "/bin/cat reading the worker's stdin");

            // Pipelined calls behind a child process: none of their bytes may be taken by it.
            var echoes = Enumerable.Range(0, 8).Select(j => pool.SubmitAsync(TestWork.Echo, $"e{i}.{j}")).ToArray();
            var cat = pool.SubmitAsync(TestWork.RunCat, "cat");
            CollectionAssert.AreEqual(Enumerable.Range(0, 8).Select(j => $"e{i}.{j}").ToArray(), await Task.WhenAll(echoes).WaitAsync(bound.Token));
            Assert.AreEqual(0, await cat.WaitAsync(bound.Token));
        }

        Assert.AreEqual(pid, await pool.SubmitAsync(TestWork.Pid, 0));
        Assert.AreEqual(1L, pool.GetStatistics().WorkersStarted);
        Assert.AreEqual(0L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(90_000)]
    public async Task GraceTimerFiringEarly_WorkerKilledOnlyAtTheGraceDeadline()
    {
        var time = new ExecutorsEarlyTimeProvider();
        var grace = TimeSpan.FromSeconds(8);
        await using var pool = new ProcessExecutor(1, new ProcessExecutorOptions
        {
            WorkerFileName = ExecutorsTestWorkers.WorkerPath,
            CancellationGracePeriod = grace,
            TimeProvider = time,
        });
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        using var cancel = new CancellationTokenSource();
        var path = Path.Combine(Path.GetTempPath(), $"flowkit-{Guid.NewGuid():N}.sock");
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var hung = pool.SubmitAsync(TestWork.SignalThenHang, path, cancel.Token);
        using (var started = await listener.AcceptAsync())
        {
            Assert.AreEqual(1, await started.ReceiveAsync(new byte[1]));
            File.Delete(path);
        }

        while (time.TimerCreated.CurrentCount > 0)
        {
            time.TimerCreated.Wait(0);
        }

        await cancel.CancelAsync();
        await time.TimerCreated.WaitAsync();

        // The timer fires at half the grace period, then keeps firing early as it is re-armed: the worker must survive each.
        time.Advance(grace / 2);
        time.Advance(grace / 4);
        time.Advance(grace / 4 - TimeSpan.FromTicks(1));
        Assert.IsNull(await ExecutorsTestWorkers.WaitGoneAsync(pid, TimeSpan.FromSeconds(1)), "worker killed before its grace period ended");
        Assert.IsFalse(hung.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));
        await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => hung);
        Assert.IsFalse(ExecutorsTestWorkers.IsAlive(pid));
        Assert.AreEqual(1L, pool.GetStatistics().WorkersLost);
    }

    [TestMethod]
    [Timeout(90_000)]
    public async Task ShutdownTimeoutTimerFiringEarly_LingeringWorkerKilledOnlyAtTheDeadline()
    {
        var time = new ExecutorsEarlyTimeProvider();
        var timeout = TimeSpan.FromSeconds(8);
        var pool = new ProcessExecutor(1, new ProcessExecutorOptions
        {
            WorkerFileName = ExecutorsTestWorkers.WorkerPath,
            WorkerArguments = ["--linger"],
            ShutdownTimeout = timeout,
            TimeProvider = time,
        });
        var pid = await pool.SubmitAsync(TestWork.Pid, 0);
        while (time.TimerCreated.CurrentCount > 0)
        {
            time.TimerCreated.Wait(0);
        }

        var disposing = pool.DisposeAsync().AsTask();
        await time.TimerCreated.WaitAsync();
        time.Advance(timeout / 2);
        time.Advance(timeout / 4);
        time.Advance(timeout / 4 - TimeSpan.FromTicks(1));
        Assert.IsNull(await ExecutorsTestWorkers.WaitGoneAsync(pid, TimeSpan.FromSeconds(1)), "lingering worker killed before the shutdown timeout");
        Assert.IsFalse(disposing.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));
        await disposing;
        Assert.IsFalse(ExecutorsTestWorkers.IsAlive(pid));
    }

    private static ProcessExecutorOptions Limited(int maxFrameBytes) => new()
    {
        WorkerFileName = ExecutorsTestWorkers.WorkerPath,
        MaxFrameBytes = maxFrameBytes,
    };
}
