using System.Runtime.CompilerServices;

using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.TestUtilities;

/// <summary>Helpers for the Flows tests: polling without sleeping, advancing fake time until something happens, async sources.</summary>
internal static class FlowsTestSupport
{
    public static bool Stress => Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1";

    /// <summary>Yields until <paramref name="condition"/> holds (the test's [Timeout] turns a hang into a failure).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        while (!condition())
        {
            await YieldFairlyAsync();
        }
    }

    /// <summary>
    /// Goes to the back of the thread pool's global queue. <c>Task.Yield</c> and <c>Task.Run</c> from a pool thread queue locally (LIFO),
    /// so two polling tests could keep both pool threads busy with their own continuations and starve the flows they poll.
    /// </summary>
    public static Task YieldFairlyAsync() =>
        Task.Factory.StartNew(static () => { }, CancellationToken.None, TaskCreationOptions.PreferFairness, TaskScheduler.Default);

    /// <summary>Advances <paramref name="time"/> by <paramref name="step"/> until <paramref name="task"/> completes, yielding between steps.</summary>
    public static async Task<TimeSpan> AdvanceUntilAsync(FakeTimeProvider time, Task task, TimeSpan step)
    {
        var start = time.GetUtcNow();
        while (!task.IsCompleted)
        {
            time.Advance(step);
            for (var i = 0; i < 4 && !task.IsCompleted; i++)
            {
                await YieldFairlyAsync();
            }
        }

        return time.GetUtcNow() - start;
    }

    public static async IAsyncEnumerable<int> RangeAsync(int start, int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var i = start; i < start + count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (i % 7 == 0)
            {
                await Task.Yield();
            }

            yield return i;
        }
    }

    /// <summary>An endless synchronous source that records whether its enumerator was disposed.</summary>
    public sealed class EndlessSource : IEnumerable<int>
    {
        private int _disposed;
        private int _produced;

        public bool Disposed => Volatile.Read(ref _disposed) == 1;

        public int Produced => Volatile.Read(ref _produced);

        public IEnumerator<int> GetEnumerator()
        {
            try
            {
                for (var i = 0; ; i++)
                {
                    Interlocked.Increment(ref _produced);
                    yield return i;
                }
            }
            finally
            {
                Volatile.Write(ref _disposed, 1);
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
