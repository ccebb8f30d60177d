using System.Text.Json.Serialization;

namespace FlowKit.Tests.Worker;

/// <summary>The handlers the executor tests run in worker processes, including every kind of crash.</summary>
public static class TestWork
{
    public static readonly ProcessWorkerRegistry Registry = new();

    public static readonly ProcessWork<string, string> Echo = Registry.Register("echo", (string s) => s, TestJson.Default.String, TestJson.Default.String);

    public static readonly ProcessWork<int[], int> Add = Registry.Register("add", (int[] xs) => xs.Sum(), TestJson.Default.Int32Array, TestJson.Default.Int32);

    public static readonly ProcessWork<long, long> Square = Registry.Register("square", (long x) => x * x, TestJson.Default.Int64, TestJson.Default.Int64);

    public static readonly ProcessWork<int, int> Pid = Registry.Register("pid", (int _) => Environment.ProcessId, TestJson.Default.Int32, TestJson.Default.Int32);

    public static readonly ProcessWork<string, int> Throw = Registry.Register("throw", (string message) => ThrowIt(message), TestJson.Default.String, TestJson.Default.Int32);

    public static readonly ProcessWork<int, int> FailFast = Registry.Register("failfast", (int _) => DoFailFast(), TestJson.Default.Int32, TestJson.Default.Int32);

    public static readonly ProcessWork<int, int> Exit99 = Registry.Register("exit99", (int _) => DoExit(99), TestJson.Default.Int32, TestJson.Default.Int32);

    public static readonly ProcessWork<int, int> StackOverflow = Registry.Register("stackoverflow", (int n) => Recurse(n), TestJson.Default.Int32, TestJson.Default.Int32);

    public static readonly ProcessWork<int, int> CrashOnOtherThread = Registry.Register("crash-thread", (int _) => CrashThread(), TestJson.Default.Int32, TestJson.Default.Int32);

    /// <summary>Blocks forever and ignores cancellation: only a kill stops it.</summary>
    public static readonly ProcessWork<int, int> Hang = Registry.Register("hang", (int _) => HangForever(), TestJson.Default.Int32, TestJson.Default.Int32);

    /// <summary>Connects to the Unix socket at its argument (so the test knows it runs), then blocks forever ignoring cancellation.</summary>
    public static readonly ProcessWork<string, int> SignalThenHang = Registry.Register("signal-hang", (string path) => SignalThenHangForever(path), TestJson.Default.String, TestJson.Default.Int32);

    /// <summary>Blocks until its item is cancelled, then throws OperationCanceledException.</summary>
    public static readonly ProcessWork<int, int> WaitForCancel = Registry.Register("wait-cancel", (int _, CancellationToken ct) => WaitCancelled(ct), TestJson.Default.Int32, TestJson.Default.Int32);

    /// <summary>Prints to Console.Out, which must not reach the protocol on stdout.</summary>
    public static readonly ProcessWork<string, string> Print = Registry.Register("print", (string s) => PrintIt(s), TestJson.Default.String, TestJson.Default.String);

    /// <summary>Runs /bin/echo, which inherits the worker's stdout (file descriptor 1), and returns its exit code.</summary>
    public static readonly ProcessWork<string, int> RunEcho = Registry.Register("run-echo", (string s) => RunChild("/bin/echo", s), TestJson.Default.String, TestJson.Default.Int32);

    /// <summary>Runs /bin/cat with the worker's stdin (file descriptor 0) and returns its exit code: it must not read the protocol.</summary>
    public static readonly ProcessWork<string, int> RunCat = Registry.Register("run-cat", (string _) => RunChild("/bin/cat", null), TestJson.Default.String, TestJson.Default.Int32);

    /// <summary>Writes straight to file descriptor 1 (<see cref="Console.OpenStandardOutput()"/>, below Console.Out) and returns its argument.</summary>
    public static readonly ProcessWork<string, string> WriteFd1 = Registry.Register("write-fd1", (string s) => WriteStdout(s), TestJson.Default.String, TestJson.Default.String);

    /// <summary>Returns a string of n characters: a reply whose size the test chooses.</summary>
    public static readonly ProcessWork<int, string> Repeat = Registry.Register("repeat", (int n) => new string('r', n), TestJson.Default.Int32, TestJson.Default.String);

    /// <summary>Returns NaN, which System.Text.Json refuses to write by default: a result serialisation failure in the worker.</summary>
    public static readonly ProcessWork<int, double> NaN = Registry.Register("nan", (int _) => double.NaN, TestJson.Default.Int32, TestJson.Default.Double);

    /// <summary>Counts the primes below n: CPU-bound work.</summary>
    public static readonly ProcessWork<int, int> CountPrimes = Registry.Register("count-primes", (int n) => Primes(n), TestJson.Default.Int32, TestJson.Default.Int32);

    public static int Primes(int below)
    {
        var count = 0;
        for (var n = 2; n < below; n++)
        {
            var prime = true;
            for (var d = 2; (long)d * d <= n; d++)
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

    private static int ThrowIt(string message) => throw new InvalidOperationException(message);

    private static int DoFailFast()
    {
        Environment.FailFast("test: FailFast in a worker");
        return 0;
    }

    private static int DoExit(int code)
    {
        Environment.Exit(code);
        return 0;
    }

    private static int Recurse(int n) => n < 0 ? n : Recurse(n + 1) + 1;

    private static int CrashThread()
    {
        var thread = new Thread(static () => throw new InvalidOperationException("test: unhandled on another thread"));
        thread.Start();
        thread.Join();
        return HangForever();
    }

    private static int HangForever()
    {
        using var never = new ManualResetEventSlim();
        never.Wait();
        return 0;
    }

    private static int SignalThenHangForever(string path)
    {
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            socket.Send([1]);
        }

        return HangForever();
    }

    private static int WaitCancelled(CancellationToken ct)
    {
        ct.WaitHandle.WaitOne();
        ct.ThrowIfCancellationRequested();
        return 0;
    }

    private static int RunChild(string program, string? argument)
    {
        var info = new System.Diagnostics.ProcessStartInfo(program) { UseShellExecute = false };
        if (argument is not null)
        {
            info.ArgumentList.Add(argument);
        }

        using var child = System.Diagnostics.Process.Start(info)!;
        child.WaitForExit();
        return child.ExitCode;
    }

    private static string WriteStdout(string s)
    {
        using var fd1 = Console.OpenStandardOutput();
        var bytes = System.Text.Encoding.UTF8.GetBytes("raw fd 1 noise from a handler: " + s + "\n");
        fd1.Write(bytes);
        fd1.Flush();
        return s;
    }

    private static string PrintIt(string s)
    {
        Console.WriteLine("noise from a handler: " + s);
        Console.Out.Flush();
        return s;
    }
}

[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(int[]))]
public sealed partial class TestJson : JsonSerializerContext;
