using FlowKit;
using FlowKit.Tests.Worker;

// A worker for the executor tests; with "--harness <worker-dll>" it is instead a parent that starts a pool of 2 workers, prints
// their pids and waits to be killed (reliability family 14: no orphans).
// "--hostile-frame": a worker that announces a frame just under the old 256 MiB limit and then sends nothing more, as a
// compromised or buggy worker could; the parent must refuse it at once instead of buffering.
if (args.Contains("--hostile-frame"))
{
    using var protocol = Console.OpenStandardOutput();
    protocol.Write(BitConverter.GetBytes(200 << 20));
    protocol.Flush();
    using var input = Console.OpenStandardInput();
    input.CopyTo(Stream.Null);
    return 0;
}

if (await ProcessWorker.RunIfWorkerAsync(args, TestWork.Registry))
{
    // "--linger": a worker that does not exit when its input closes, so the parent's shutdown timeout must kill it.
    if (args.Contains("--linger"))
    {
        using var never = new ManualResetEventSlim();
        never.Wait();
    }

    return 0;
}

if (args.Length >= 1 && args[0] == "--harness")
{
    var options = new ProcessExecutorOptions
    {
        WorkerFileName = Environment.ProcessPath!,
        WorkerArguments = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? [typeof(TestWork).Assembly.Location] : [],
    };
    await using var pool = new ProcessExecutor(2, options);
    var a = pool.SubmitAsync(TestWork.Pid, 0);
    var b = pool.SubmitAsync(TestWork.WaitForCancel, 0);
    var c = pool.SubmitAsync(TestWork.WaitForCancel, 0);
    await a;
    while (pool.GetWorkerProcessIds().Count < 2)
    {
        await Task.Yield();
    }

    Console.WriteLine("pids " + string.Join(' ', pool.GetWorkerProcessIds()));
    Console.Out.Flush();
    await Task.WhenAll(b, c);
    return 0;
}

Console.Error.WriteLine("FlowKit.Tests.Worker: run by the executor tests.");
return 2;
