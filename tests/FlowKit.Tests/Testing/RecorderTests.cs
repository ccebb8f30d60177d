using System.Reactive.Linq;
using System.Reactive.Subjects;
using FlowKit.Testing;
using Microsoft.Extensions.Time.Testing;

namespace FlowKit.Tests.Testing;

[TestClass]
public sealed class RecorderTests
{
    [TestMethod]
    [Timeout(10_000)]
    public void Recorder_StampsEventsWithVirtualTime()
    {
        var time = new FakeTimeProvider();
        var subject = new Subject<int>();
        using var recorder = Recorder<int>.Subscribe(subject, time);
        subject.OnNext(1);
        time.Advance(TimeSpan.FromSeconds(2));
        subject.OnNext(2);
        subject.OnCompleted();
        Assert.AreEqual("@00:00:00 OnNext(1)|@00:00:02 OnNext(2)|@00:00:02 OnCompleted()", string.Join("|", recorder.Events));
        Assert.IsTrue(recorder.IsCompleted);
        Assert.IsTrue(recorder.Terminated.IsCompleted);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Recorder_CallsAfterTheTerminalEvent_AreViolations()
    {
        var recorder = new Recorder<int>();
        recorder.OnNext(1);
        recorder.OnError(new FormatException());
        recorder.OnNext(2);
        recorder.OnCompleted();
        Assert.HasCount(2, recorder.Events);
        Assert.HasCount(2, recorder.Violations);
        Assert.IsInstanceOfType<FormatException>(recorder.Error);
    }

    [TestMethod]
    [Timeout(10_000)]
    public void Recorder_OverlappingCalls_AreViolations()
    {
        var recorder = new Recorder<int>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(8));

        // A misbehaving source: two dedicated threads call OnNext at the same time until the recorder notices.
        var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested && recorder.Violations.Count == 0; i++)
            {
                recorder.OnNext(i);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.IsTrue(recorder.Violations.Any(v => v.StartsWith("overlapping", StringComparison.Ordinal)));
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RecordAsync_AsyncStream_RecordsItemsAndTheEnd()
    {
        var recorder = await Recorder<int>.RecordAsync(AsyncEnumerable.Range(0, 3));
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, recorder.Values.ToList());
        Assert.IsTrue(recorder.IsCompleted);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RecordAsync_StreamThrows_RecordsTheError()
    {
        var boom = new IOException();
        var recorder = await Recorder<int>.RecordAsync(Observable.Throw<int>(boom).ToAsyncEnumerable(4, Overflow.Fail));
        Assert.AreSame(boom, recorder.Error);
    }
}
