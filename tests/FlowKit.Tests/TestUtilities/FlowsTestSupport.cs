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
        var spins = 0;
        while (!condition())
        {
            if (++spins % 64 == 0)
            {
                await Task.Run(static () => { }).ConfigureAwait(false);
            }
            else
            {
                await Task.Yield();
            }
        }
    }

    /// <summary>Advances <paramref name="time"/> by <paramref name="step"/> until <paramref name="task"/> completes, yielding between steps.</summary>
    public static async Task<TimeSpan> AdvanceUntilAsync(FakeTimeProvider time, Task task, TimeSpan step)
    {
        var start = time.GetUtcNow();
        while (!task.IsCompleted)
        {
            time.Advance(step);
            for (var i = 0; i < 20 && !task.IsCompleted; i++)
            {
                await Task.Yield();
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
