using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Runtime.InteropServices;

namespace FlowKit.Processes;

/// <summary>
/// POSIX signals as observables over <see cref="PosixSignalRegistration"/> (asyncio's <c>loop.add_signal_handler</c>, Trio's
/// <c>open_signal_receiver</c>). Each subscription registers its own handlers and removes them when disposed.
/// </summary>
public static class Signals
{
    /// <summary>
    /// The given signals as they arrive. While subscribed, the default action of these signals is cancelled (like asyncio's
    /// <c>add_signal_handler</c>: SIGINT no longer ends the process); use <see cref="ObserveContexts"/> to decide per signal.
    /// Notifications arrive on the runtime's signal thread, one at a time; keep observers short or hop with <c>ObserveOn</c>.
    /// </summary>
    /// <param name="signals">The signals to observe (at least one).</param>
    /// <returns>A cold observable: each subscription registers the handlers, disposing it unregisters them.</returns>
    /// <exception cref="ArgumentException">No signal given.</exception>
    /// <example><code>
    /// using var _ = Signals.Observe(PosixSignal.SIGHUP).Subscribe(_ => ReloadConfiguration());
    /// </code></example>
    public static IObservable<PosixSignal> Observe(params PosixSignal[] signals) =>
        ObserveCore(signals, cancelDefault: true).Select(static context => context.Signal);

    /// <summary>
    /// The given signals as <see cref="PosixSignalContext"/>s: an observer sets <see cref="PosixSignalContext.Cancel"/> to
    /// <see langword="true"/> to stop the default action (for SIGINT, SIGQUIT, SIGTERM, SIGHUP: ending the process).
    /// </summary>
    /// <param name="signals">The signals to observe (at least one).</param>
    /// <returns>A cold observable of contexts; the default action runs after every observer has seen the context.</returns>
    public static IObservable<PosixSignalContext> ObserveContexts(params PosixSignal[] signals) => ObserveCore(signals, cancelDefault: false);

    /// <summary>Sends <paramref name="signal"/> to process <paramref name="processId"/> (Python's <c>os.kill</c>).</summary>
    /// <param name="processId">The target process id (a negative value signals that process group).</param>
    /// <param name="signal">The signal (a <see cref="PosixSignal"/> member or a raw positive number).</param>
    /// <returns><see langword="false"/> when no such process exists.</returns>
    /// <exception cref="PlatformNotSupportedException">On Windows.</exception>
    public static bool Send(int processId, PosixSignal signal)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Sending POSIX signals is not supported on Windows.");
        }

        ArgumentOutOfRangeException.ThrowIfZero(processId);
        return PosixNative.Kill(processId, PosixNative.ToNative(signal));
    }

    /// <summary>Turns the first SIGINT or SIGTERM into a cancelled token; a second one ends the process (see <see cref="ShutdownSignal"/>).</summary>
    /// <returns>The registration; dispose it to unregister.</returns>
    public static ShutdownSignal CreateShutdownSignal() => ShutdownSignal.Register();

    private static IObservable<PosixSignalContext> ObserveCore(PosixSignal[] signals, bool cancelDefault)
    {
        ArgumentNullException.ThrowIfNull(signals);
        if (signals.Length == 0)
        {
            throw new ArgumentException("signals must name at least one signal.", nameof(signals));
        }

        var copy = signals.Distinct().ToArray();
        return Observable.Create<PosixSignalContext>(observer =>
        {
            var registrations = new CompositeDisposable(copy.Length);
            var gate = new Lock();
            try
            {
                foreach (var signal in copy)
                {
                    registrations.Add(PosixSignalRegistration.Create(signal, context =>
                    {
                        if (cancelDefault)
                        {
                            context.Cancel = true;
                        }

                        // Handlers for different signals may run on different threads on some platforms: keep OnNext serial.
                        lock (gate)
                        {
                            observer.OnNext(context);
                        }
                    }));
                }
            }
            catch (Exception ex) when (ex is PlatformNotSupportedException or IOException or ArgumentOutOfRangeException)
            {
                registrations.Dispose();
                observer.OnError(ex);
                return Disposable.Empty;
            }

            return registrations;
        });
    }
}
