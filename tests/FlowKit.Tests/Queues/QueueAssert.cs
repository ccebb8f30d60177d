namespace FlowKit.Tests.Queues;

/// <summary>Assertions shared by the queue tests.</summary>
internal static class QueueAssert
{
    /// <summary>Asserts that <paramref name="action"/> throws exactly <paramref name="expected"/>, synchronously or through its task.</summary>
    public static async Task<Exception> ThrowsAsync(Type expected, Func<Task> action)
    {
        var error = await Assert.ThrowsAsync<Exception>(action);
        Assert.AreEqual(expected, error.GetType(), $"expected {expected.Name}, got {error}");
        return error;
    }

    /// <summary>Asserts that <paramref name="action"/> throws exactly <paramref name="expected"/>.</summary>
    public static Exception Throws(Type expected, Action action)
    {
        var error = Assert.Throws<Exception>(action);
        Assert.AreEqual(expected, error.GetType(), $"expected {expected.Name}, got {error}");
        return error;
    }

    /// <summary>Heavy sizes only under FLOWKIT_TEST_STRESS=1.</summary>
    public static bool Stress => Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1";

    public static int Size(int normal, int stress) => Stress ? stress : normal;
}
