using System.Globalization;
using System.Reactive;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Reactive.Threading.Tasks;

namespace FlowKit.Samples.Reactive;

/// <summary>
/// The course's coroutine examples (24.4.1-24.4.5) written as IObservable pipelines on an <see cref="EventLoop"/>: every step runs on the
/// loop's thread through <see cref="EventLoop.Scheduler"/>, and <c>run_until_complete</c> waits for the pipeline's last value.
/// </summary>
public sealed class RxSample : ISample
{
    private static readonly string[] Examples = ["hello", "date", "chain", "future", "parallel"];

    public string Name => "rx";

    public string Description => "the asyncio course examples as Rx pipelines on an EventLoop (--example hello|date|chain|future|parallel|all)";

    public Task<int> RunAsync(SampleContext context)
    {
        var example = context.Option("example", "all");
        if (example != "all" && !Examples.Contains(example))
        {
            context.WriteLine($"Unknown example '{example}'; choose one of: {string.Join(", ", Examples)}, all.");
            return Task.FromResult(2);
        }

        using var loop = context.CreateLoop();
        foreach (var name in example == "all" ? Examples : [example])
        {
            if (example == "all")
            {
                context.WriteLine($"--- {name} ---");
            }

            Run(name, loop, context);
        }

        return Task.FromResult(0);
    }

    private static void Run(string name, EventLoop loop, SampleContext context)
    {
        var scheduler = loop.Scheduler;
        switch (name)
        {
            case "hello":
                // async def hello_world(): print("Hello World!")
                loop.RunUntilComplete(() => Observable.Start(() => context.WriteLine("Hello World!"), scheduler).ToTask());
                break;

            case "date":
                // print the date every second while loop.time() + 1.0 < end_time (5 s): ticks at 0, 1, 2, 3 and 4 s.
                loop.RunUntilComplete(() => Observable.Timer(TimeSpan.Zero, TimeSpan.FromSeconds(1), scheduler)
                    .Take(5)
                    .Do(_ => context.WriteLine(context.Time.GetLocalNow().ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)))
                    .LastAsync()
                    .ToTask());
                break;

            case "chain":
                // print_sum awaits compute: the inner observable is composed into the outer one with SelectMany.
                loop.RunUntilComplete(() => PrintSum(1, 2, scheduler, context).ToTask());
                break;

            case "future":
                // asyncio.Future() is an AsyncSubject: one value, then completion; slow_operation sets it after one second.
                var future = new AsyncSubject<string>();
                loop.RunUntilComplete(() =>
                {
                    Observable.Timer(TimeSpan.FromSeconds(1), scheduler).Select(_ => "Future is done!").Subscribe(future);
                    return future.ToTask();
                });
                context.WriteLine(future.Wait());
                break;

            case "parallel":
                // asyncio.gather(...) is Merge(...).ToList(): subscribe to all three in order, wait until every one has finished.
                loop.RunUntilComplete(() => Observable.Merge(
                    Factorial("A", 2, scheduler, context),
                    Factorial("B", 3, scheduler, context),
                    Factorial("C", 4, scheduler, context)).ToList().ToTask());
                break;
        }
    }

    private static IObservable<int> Compute(int x, int y, IScheduler scheduler, SampleContext context) =>
        Observable.Defer(() =>
        {
            context.WriteLine($"Compute {x} + {y} ...");
            return Observable.Timer(TimeSpan.FromSeconds(1), scheduler).Select(_ => x + y);
        });

    private static IObservable<Unit> PrintSum(int x, int y, IScheduler scheduler, SampleContext context) =>
        Compute(x, y, scheduler, context).Select(result =>
        {
            context.WriteLine($"{x} + {y} = {result}");
            return Unit.Default;
        });

    private static IObservable<int> Factorial(string name, int number, IScheduler scheduler, SampleContext context) =>
        Enumerable.Range(2, number - 1)
            .Select(i => Observable.Defer(() =>
            {
                context.WriteLine($"Task {name}: Compute factorial({i})...");
                return Observable.Timer(TimeSpan.FromSeconds(1), scheduler).Select(_ => i);
            }))
            .Concat()
            .Aggregate(1, (f, i) => f * i)
            .Do(f => context.WriteLine($"Task {name}: factorial({number}) = {f}"));
}
