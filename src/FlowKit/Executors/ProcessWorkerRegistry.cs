using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace FlowKit;

/// <summary>
/// The work a program's worker processes can run, each handler under a name. Build the same registry in the parent and in the
/// worker (a static field is the simple way): the worker runs the handlers, the parent uses the returned
/// <see cref="ProcessWork{TIn, TOut}"/> handles with <see cref="ProcessExecutor"/>. Arguments and results travel as JSON, so a
/// handler cannot capture state from the parent: everything it needs must be in its argument.
/// </summary>
/// <example>
/// <code>
/// static readonly ProcessWorkerRegistry Registry = new();
/// static readonly ProcessWork&lt;long, int&gt; CountPrimes =
///     Registry.Register("count-primes", (long n) => Primes.Count(n), AppJson.Default.Int64, AppJson.Default.Int32);
///
/// static async Task&lt;int&gt; Main(string[] args)
/// {
///     if (await ProcessWorker.RunIfWorkerAsync(args, Registry)) return 0;   // this process is a worker
///     await using var pool = new ProcessExecutor(maxWorkers: 4);
///     Console.WriteLine(await pool.SubmitAsync(CountPrimes, 10_000_000));
///     return 0;
/// }
/// </code>
/// </example>
public sealed class ProcessWorkerRegistry
{
    private readonly Dictionary<string, ProcessWorkHandler> _handlers = new(StringComparer.Ordinal);

    /// <summary>The registered names.</summary>
    public IReadOnlyCollection<string> Names
    {
        get
        {
            lock (_handlers)
            {
                return [.. _handlers.Keys];
            }
        }
    }

    /// <summary>Registers a handler that sees the item's cancellation, with explicit JSON contracts (trimming- and AOT-safe).</summary>
    /// <param name="name">A unique name, 1 to <see cref="ProcessWork{TIn, TOut}.MaxNameLength"/> UTF-8 bytes.</param>
    /// <param name="handler">Runs in the worker process, one item at a time per worker.</param>
    /// <param name="inputType">The argument's JSON contract.</param>
    /// <param name="outputType">The result's JSON contract.</param>
    /// <returns>The handle the parent submits with.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is already registered.</exception>
    public ProcessWork<TIn, TOut> Register<TIn, TOut>(string name, Func<TIn, CancellationToken, TOut> handler, JsonTypeInfo<TIn> inputType, JsonTypeInfo<TOut> outputType)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var work = new ProcessWork<TIn, TOut>(name, inputType, outputType);
        lock (_handlers)
        {
            if (!_handlers.TryAdd(name, new ProcessWorkHandler<TIn, TOut>(handler, inputType, outputType)))
            {
                throw new ArgumentException($"Work named '{name}' is already registered.", nameof(name));
            }
        }

        return work;
    }

    /// <summary>Registers a handler with explicit JSON contracts (trimming- and AOT-safe).</summary>
    /// <param name="name">A unique name, 1 to <see cref="ProcessWork{TIn, TOut}.MaxNameLength"/> UTF-8 bytes.</param>
    /// <param name="handler">Runs in the worker process, one item at a time per worker.</param>
    /// <param name="inputType">The argument's JSON contract.</param>
    /// <param name="outputType">The result's JSON contract.</param>
    /// <returns>The handle the parent submits with.</returns>
    public ProcessWork<TIn, TOut> Register<TIn, TOut>(string name, Func<TIn, TOut> handler, JsonTypeInfo<TIn> inputType, JsonTypeInfo<TOut> outputType)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register(name, (x, _) => handler(x), inputType, outputType);
    }

    /// <summary>Registers a handler whose argument and result use reflection-based JSON (<see cref="JsonSerializerOptions.Default"/>).</summary>
    /// <param name="name">A unique name.</param>
    /// <param name="handler">Runs in the worker process.</param>
    /// <returns>The handle the parent submits with.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON; use the overload taking JsonTypeInfo for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON; use the overload taking JsonTypeInfo for native AOT.")]
    public ProcessWork<TIn, TOut> Register<TIn, TOut>(string name, Func<TIn, TOut> handler) =>
        Register(name, handler, ReflectionType<TIn>(), ReflectionType<TOut>());

    /// <summary>Registers a cancellable handler whose argument and result use reflection-based JSON.</summary>
    /// <param name="name">A unique name.</param>
    /// <param name="handler">Runs in the worker process; sees the item's cancellation.</param>
    /// <returns>The handle the parent submits with.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON; use the overload taking JsonTypeInfo for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON; use the overload taking JsonTypeInfo for native AOT.")]
    public ProcessWork<TIn, TOut> Register<TIn, TOut>(string name, Func<TIn, CancellationToken, TOut> handler) =>
        Register(name, handler, ReflectionType<TIn>(), ReflectionType<TOut>());

    internal bool TryGet(string name, [NotNullWhen(true)] out ProcessWorkHandler? handler)
    {
        lock (_handlers)
        {
            return _handlers.TryGetValue(name, out handler);
        }
    }

    [RequiresUnreferencedCode("Reflection-based JSON.")]
    [RequiresDynamicCode("Reflection-based JSON.")]
    private static JsonTypeInfo<T> ReflectionType<T>() => (JsonTypeInfo<T>)JsonSerializerOptions.Default.GetTypeInfo(typeof(T));
}
