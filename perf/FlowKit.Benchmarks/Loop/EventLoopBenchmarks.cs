using System.Reactive.Concurrency;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace FlowKit.Benchmarks.Loop;

/// <summary>
/// The event loop's two hot paths, 1,000,000 operations per invocation: <c>CallSoon</c> throughput and a ping-pong of awaits that each
/// go through the loop's ready queue. Baseline: a raw BCL single-reader <see cref="Channel{T}"/> of callbacks drained by one thread;
/// comparator: Rx's <see cref="EventLoopScheduler"/>. Python's asyncio figures come from perf/loop_asyncio.py.
/// </summary>
[MemoryDiagnoser]
public class EventLoopBenchmarks
{
    private const int N = 1_000_000;
    private static readonly Action Nop = static () => { };

    private EventLoop _loop = null!;
    private Task _loopRun = null!;
    private EventLoopScheduler _rx = null!;
    private Channel<Action> _channel = null!;
    private Thread _channelThread = null!;

    [GlobalSetup]
    public void Setup()
    {
        _loop = new EventLoop();
        _loopRun = Task.Factory.StartNew(_loop.RunForever, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _rx = new EventLoopScheduler();
        _channel = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
        _channelThread = new Thread(() =>
        {
            var reader = _channel.Reader;
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var action))
                {
                    action();
                }
            }
        }) { IsBackground = true };
        _channelThread.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _loop.Stop();
        _loopRun.GetAwaiter().GetResult();
        _loop.Dispose();
        _rx.Dispose();
        _channel.Writer.Complete();
        _channelThread.Join();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = N, Description = "BCL Channel<Action> + 1 thread: 1M callbacks")]
    public void Callbacks_Channel()
    {
        using var done = new ManualResetEventSlim();
        var writer = _channel.Writer;
        for (var i = 0; i < N; i++)
        {
            writer.TryWrite(Nop);
        }

        writer.TryWrite(done.Set);
        done.Wait();
    }

    [Benchmark(OperationsPerInvoke = N, Description = "Rx EventLoopScheduler.Schedule: 1M callbacks")]
    public void Callbacks_RxEventLoopScheduler()
    {
        using var done = new ManualResetEventSlim();
        for (var i = 0; i < N; i++)
        {
            _rx.Schedule(Nop);
        }

        _rx.Schedule(done.Set);
        done.Wait();
    }

    [Benchmark(OperationsPerInvoke = N, Description = "EventLoop.CallSoon from another thread: 1M callbacks")]
    public void Callbacks_CallSoon_ThreadSafe()
    {
        using var done = new ManualResetEventSlim();
        for (var i = 0; i < N; i++)
        {
            _loop.CallSoon(Nop);
        }

        _loop.CallSoon(done.Set);
        done.Wait();
    }

    [Benchmark(OperationsPerInvoke = N, Description = "EventLoop.CallSoon on the loop (asyncio call_soon): 1M callbacks")]
    public void Callbacks_CallSoon_OnLoop()
    {
        using var done = new ManualResetEventSlim();
        _loop.CallSoon(() =>
        {
            for (var i = 0; i < N; i++)
            {
                _loop.CallSoon(Nop);
            }

            _loop.CallSoon(done.Set);
        });
        done.Wait();
    }

    [Benchmark(OperationsPerInvoke = N, Description = "Rx EventLoopScheduler: 1M awaits of scheduler.Yield()")]
    public void PingPong_RxEventLoopScheduler()
    {
        var rx = _rx;
        var task = Task.Run(async () =>
        {
            for (var i = 0; i < N; i++)
            {
                await rx.Yield();
            }
        });
        task.GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = N, Description = "EventLoop: 1M awaits of Task.Yield() on the loop")]
    public void PingPong_EventLoop_Yield()
    {
        var loop = _loop;
        var task = new TaskCompletionSource();
        loop.CallSoon(() => _ = YieldMany(task));
        task.Task.GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = N, Description = "EventLoop: 1M future round trips (CallSoon sets a TCS, the coroutine awaits it)")]
    public void PingPong_EventLoop_Future()
    {
        var loop = _loop;
        var task = new TaskCompletionSource();
        loop.CallSoon(() => _ = FutureRoundTrips(loop, task));
        task.Task.GetAwaiter().GetResult();
    }

    private static async Task YieldMany(TaskCompletionSource done)
    {
        for (var i = 0; i < N; i++)
        {
            await Task.Yield();
        }

        done.SetResult();
    }

    private static async Task FutureRoundTrips(EventLoop loop, TaskCompletionSource done)
    {
        for (var i = 0; i < N; i++)
        {
            var future = new TaskCompletionSource();
            loop.CallSoon(static s => ((TaskCompletionSource)s!).SetResult(), future);
            await future.Task;
        }

        done.SetResult();
    }
}
