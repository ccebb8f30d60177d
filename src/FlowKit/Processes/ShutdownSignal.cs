using System.Runtime.InteropServices;

namespace FlowKit.Processes;

/// <summary>
/// Python's <c>KeyboardInterrupt</c>, made structured: the first SIGINT or SIGTERM cancels <see cref="Token"/> (the process
/// keeps running so every scope can unwind cleanly); a second one is left to its default action, which ends the process at
/// once. Dispose it to unregister.
/// </summary>
public sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _count;
    private int _first;

    private ShutdownSignal(PosixSignal[] signals)
    {
        _registrations = new PosixSignalRegistration[signals.Length];
        try
        {
            for (var i = 0; i < signals.Length; i++)
            {
                _registrations[i] = PosixSignalRegistration.Create(signals[i], OnSignal);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>Whether a signal has arrived.</summary>
    public bool IsShutdownRequested => _cancellation.IsCancellationRequested;

    /// <summary>The first signal received, if any.</summary>
    public PosixSignal? Signal => Volatile.Read(ref _count) == 0 ? null : (PosixSignal)Volatile.Read(ref _first);

    /// <summary>How many of the watched signals have arrived.</summary>
    public int SignalCount => Volatile.Read(ref _count);

    /// <summary>Watches SIGINT and SIGTERM.</summary>
    /// <returns>The registration.</returns>
    /// <example><code>
    /// using var shutdown = ShutdownSignal.Register();
    /// await server.ServeAsync(HandleAsync, shutdown.Token);   // Ctrl+C: clean stop; Ctrl+C again: exit now
    /// </code></example>
    public static ShutdownSignal Register() => Register(PosixSignal.SIGINT, PosixSignal.SIGTERM);

    /// <summary>Watches the given signals.</summary>
    /// <param name="signals">The signals that request shutdown (at least one).</param>
    /// <returns>The registration.</returns>
    public static ShutdownSignal Register(params PosixSignal[] signals)
    {
        ArgumentNullException.ThrowIfNull(signals);
        if (signals.Length == 0)
        {
            throw new ArgumentException("signals must name at least one signal.", nameof(signals));
        }

        return new ShutdownSignal(signals.Distinct().ToArray());
    }

    /// <summary>A snapshot of what has arrived.</summary>
    /// <returns>The statistics.</returns>
    public ShutdownSignalStatistics GetStatistics() => new(SignalCount, Signal, IsShutdownRequested);

    /// <summary>Unregisters the handlers; the token stays as it is.</summary>
    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration?.Dispose();
        }

        // The token source is left undisposed on purpose: its token stays valid (and possibly cancelled) after unregistering.
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _count) == 1)
        {
            Volatile.Write(ref _first, (int)context.Signal);
            context.Cancel = true;
            _cancellation.Cancel();
        }
    }
}
