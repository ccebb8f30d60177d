using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using FlowKit.Processes;

namespace FlowKit.Tests.Processes;

/// <summary>Signals sent to the test process itself: only harmless ones (SIGWINCH, SIGCONT), never one whose default ends the process.</summary>
[TestClass]
[DoNotParallelize]
[UnsupportedOSPlatform("windows")]
public sealed class SignalsTests
{
    [TestMethod]
    [Timeout(20_000)]
    public async Task Observe_SelfSentSigwinch_IsObservedEveryTime()
    {
        const int count = 50;
        var received = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (Signals.Observe(PosixSignal.SIGWINCH).Subscribe(s =>
        {
            Assert.AreEqual(PosixSignal.SIGWINCH, s);
            if (Interlocked.Increment(ref received) == count)
            {
                all.TrySetResult();
            }
        }))
        {
            for (var i = 0; i < count; i++)
            {
                // One at a time: the kernel merges a pending signal with a second one of the same number.
                var before = Volatile.Read(ref received);
                Assert.IsTrue(Signals.Send(Environment.ProcessId, PosixSignal.SIGWINCH));
                while (Volatile.Read(ref received) == before)
                {
                    await Task.Yield();
                }
            }

            await all.Task;
        }

        Assert.AreEqual(count, received);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Observe_AfterUnsubscribe_NoMoreNotifications()
    {
        var first = 0;
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = Signals.Observe(PosixSignal.SIGCONT).Subscribe(_ => Interlocked.Increment(ref first));
        subscription.Dispose();
        using (Signals.Observe(PosixSignal.SIGCONT).Subscribe(_ => second.TrySetResult()))
        {
            Signals.Send(Environment.ProcessId, PosixSignal.SIGCONT);
            await second.Task;
        }

        Assert.AreEqual(0, first);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ObserveContexts_SeesSignalAndContext()
    {
        var seen = new TaskCompletionSource<PosixSignalContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (Signals.ObserveContexts(PosixSignal.SIGWINCH, PosixSignal.SIGCONT).Subscribe(c => seen.TrySetResult(c)))
        {
            Signals.Send(Environment.ProcessId, PosixSignal.SIGCONT);
            var context = await seen.Task;
            Assert.AreEqual(PosixSignal.SIGCONT, context.Signal);
        }
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task ShutdownSignal_FirstSignal_CancelsToken()
    {
        using var shutdown = ShutdownSignal.Register(PosixSignal.SIGWINCH);
        Assert.IsFalse(shutdown.IsShutdownRequested);
        Assert.IsNull(shutdown.Signal);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = shutdown.Token.Register(() => cancelled.TrySetResult());
        Signals.Send(Environment.ProcessId, PosixSignal.SIGWINCH);
        await cancelled.Task;
        Assert.IsTrue(shutdown.IsShutdownRequested);
        Assert.AreEqual(PosixSignal.SIGWINCH, shutdown.Signal);
        Assert.AreEqual(1, shutdown.SignalCount);
        Assert.AreEqual(new ShutdownSignalStatistics(1, PosixSignal.SIGWINCH, true), shutdown.GetStatistics());
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Observe_NoSignals_ThrowsArgument()
    {
        Assert.ThrowsExactly<ArgumentException>(() => Signals.Observe());
        Assert.ThrowsExactly<ArgumentNullException>(() => Signals.Observe(null!));
        Assert.ThrowsExactly<ArgumentException>(() => ShutdownSignal.Register([]));
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Send_NoSuchProcess_ReturnsFalse_ZeroPid_Throws()
    {
        Assert.IsFalse(Signals.Send(int.MaxValue - 1, PosixSignal.SIGCONT));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Signals.Send(0, PosixSignal.SIGCONT));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Signals.Send(Environment.ProcessId, (PosixSignal)(-99)));
    }
}
