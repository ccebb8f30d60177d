namespace FlowKit;

public static partial class Flow
{
    /// <summary>
    /// A cold observable that runs the flow once per subscription and pushes every item to the observer (one at a time, never overlapping);
    /// the run's end becomes <c>OnCompleted</c> or <c>OnError</c>. Disposing the subscription stops the run. An exception thrown by the
    /// observer's own <c>OnNext</c> stops the run and, as in Rx, is not routed to its <c>OnError</c>: it propagates to what drove the
    /// call, the subscription's task, which nobody awaits, so it is raised as <see cref="TaskScheduler.UnobservedTaskException"/>.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="flow">The flow to run on subscription.</param>
    /// <returns>The observable.</returns>
    public static IObservable<T> ToObservable<T>(this Flow<T> flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        return new AsyncEnumerableObservable<T>(flow.ToAsyncEnumerable());
    }
}
