using System.Globalization;

namespace FlowKit.Samples.Asyncio;

/// <summary>Course 24.4.2: a coroutine printing the date every second for five seconds, on the loop's clock.</summary>
public sealed class DateSample : ISample
{
    public string Name => "date";

    public string Description => "asyncio 24.4.2: coroutine displaying the current date every second for 5 s";

    public Task<int> RunAsync(SampleContext context)
    {
        using var loop = context.CreateLoop();
        loop.RunUntilComplete(() => DisplayDate(loop, context));
        return Task.FromResult(0);
    }

    private static async Task DisplayDate(EventLoop loop, SampleContext context)
    {
        var endTime = loop.Time + TimeSpan.FromSeconds(5);
        while (true)
        {
            // Python's str(datetime.now()).
            context.WriteLine(context.Time.GetLocalNow().ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
            if (loop.Time + TimeSpan.FromSeconds(1) >= endTime)
            {
                break;
            }

            await loop.SleepAsync(TimeSpan.FromSeconds(1));
        }
    }
}
