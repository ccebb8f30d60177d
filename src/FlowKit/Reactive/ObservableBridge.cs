namespace FlowKit;

/// <summary>Bridges between push (<see cref="IObservable{T}"/>) and pull (<see cref="IAsyncEnumerable{T}"/>) with an explicit bound.</summary>
public static class ObservableBridge
{
    /// <summary>
    /// Pulls a push source through a buffer of <paramref name="capacity"/> items: each enumeration subscribes once and unsubscribes when
    /// it ends, fails, is cancelled or disposed. When the buffer is full, <paramref name="overflow"/> decides (see <see cref="Overflow"/>):
    /// <see cref="Overflow.Wait"/> blocks the thread calling <c>OnNext</c> (the subscription is made from the thread pool so a synchronous
    /// source blocks a pool thread, not the consumer); <see cref="Overflow.Fail"/> ends the stream with <see cref="BufferOverflowException"/>
    /// after the buffered items. The source's <c>OnError</c> is rethrown to the consumer after the buffered items.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The push source.</param>
    /// <param name="capacity">The buffer's bound, 1 or more.</param>
    /// <param name="overflow">What to do when the source outruns the consumer.</param>
    /// <param name="cancellationToken">Cancels every enumeration (besides the token given to <c>GetAsyncEnumerator</c>).</param>
    /// <returns>A cold async stream over the source.</returns>
    /// <example>
    /// <code>
    /// await foreach (var tick in Observable.Interval(TimeSpan.FromSeconds(1)).ToAsyncEnumerable(16, Overflow.DropOldest, ct))
    /// {
    ///     Console.WriteLine(tick);
    /// }
    /// </code>
    /// </example>
    public static IAsyncEnumerable<T> ToAsyncEnumerable<T>(this IObservable<T> source, int capacity, Overflow overflow, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (!Enum.IsDefined(overflow))
        {
            throw new ArgumentOutOfRangeException(nameof(overflow), overflow, "overflow must be Wait, DropOldest, DropNewest or Fail.");
        }

        return new ObservableAsyncEnumerable<T>(source, capacity, overflow, cancellationToken);
    }

    /// <summary>
    /// A cold observable over an async stream: each subscription enumerates <paramref name="source"/> once (starting on the thread pool),
    /// sends every item with <c>OnNext</c>, then exactly one <c>OnCompleted</c> or <c>OnError</c>. Disposing the subscription cancels the
    /// enumeration and disposes the enumerator; once <c>Dispose</c> returns, no further call reaches the observer.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The async stream.</param>
    /// <returns>The observable.</returns>
    /// <example><code>IObservable&lt;string&gt; lines = stream.ReadLinesAsync(4096).ToObservable();</code></example>
    public static IObservable<T> ToObservable<T>(this IAsyncEnumerable<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new AsyncEnumerableObservable<T>(source);
    }
}
