using System.Collections.Concurrent;
using System.Diagnostics;
using CsCheck;

namespace FlowKit.Tests.Queues;

/// <summary>
/// Reliability family 8, linearizability: CsCheck's SampleParallel runs random put-nowait / get-nowait / count / shutdown operations
/// in parallel on each queue kind and checks that some sequential order of them on a model gives the same results and final state.
/// 1,000 iterations per kind (20,000 under FLOWKIT_TEST_STRESS=1). A deliberately racy queue must be caught.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class QueueLinearizabilityTests
{
    private static int Iterations => QueueAssert.Size(1_000, 20_000);

    [TestMethod]
    [Timeout(300_000)]
    [DataRow("fifo")]
    [DataRow("priority")]
    [DataRow("lifo")]
    [DataRow("channel")]
    [DataRow("channel-rendezvous")]
    public void NowaitOperations_RunInParallel_AreLinearizable(string kind)
    {
        var clock = Stopwatch.StartNew();
        Run(kind, Iterations);
        Console.WriteLine($"family8 {kind,-20} iterations={Iterations} time={clock.Elapsed.TotalSeconds:F1} s counterexample=none");
    }

    [TestMethod]
    [Timeout(300_000)]
    public void RacyControlQueue_IsCaughtByTheLinearizabilityCheck()
    {
        // Small batches, so the time to the first failing batch measures how fast the check catches the race.
        var clock = Stopwatch.StartNew();
        Exception? caught = null;
        var batches = 0;
        while (caught is null && clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            batches++;
            try
            {
                Run("racy", 20);
            }
            catch (CsCheckException e)
            {
                caught = e;
            }
        }

        Console.WriteLine($"family8 racy control caught={caught is not null} after {clock.Elapsed.TotalSeconds:F2} s ({batches} batches of 20 iterations): {caught?.Message.Split('\n')[0]}");
        Assert.IsNotNull(caught, "the racy control queue passed the linearizability check");
    }

    private static void Run(string kind, int iterations) =>
        Gen.Int[0, 3].Select(capacity => (Actual.Create(kind, kind == "channel-rendezvous" ? 0 : capacity + 1), new Model(kind, kind == "channel-rendezvous" ? 0 : capacity + 1)))
            .SampleParallel(
                Gen.Int[0, 9].Operation<Actual, Model>(v => $"PutNowait({v})", (a, v) => a.Put(v), (m, v) => m.Put(v)),
                Gen.Int[0, 9].Operation<Actual, Model>(v => $"PutNowait({v})", (a, v) => a.Put(v), (m, v) => m.Put(v)),
                Gen.Const(0).Operation<Actual, Model>(_ => "GetNowait", (a, _) => a.Get(), (m, _) => m.Get()),
                Gen.Const(0).Operation<Actual, Model>(_ => "GetNowait", (a, _) => a.Get(), (m, _) => m.Get()),
                Gen.Const(0).Operation<Actual, Model>(_ => "Count", (a, _) => a.Count(), (m, _) => m.Count()),
                Gen.Const(0).Operation<Actual, Model>(_ => "Shutdown", (a, _) => a.Close(), (m, _) => m.Close()),
                equal: (a, m) => a.Matches(m),
                iter: iterations,
                maxParallelOperations: 4,
                printActual: a => a.ToString(),
                printModel: m => m.ToString());

    /// <summary>The queue under test, recording every operation's outcome.</summary>
    internal abstract class Actual
    {
        private readonly ConcurrentQueue<string> _outcomes = new();
        private readonly Lock _drainGate = new();
        private List<int>? _remaining;

        public static Actual Create(string kind, int capacity) => kind switch
        {
            "fifo" => new QueueActual(new AsyncQueue<int>(capacity)),
            "priority" => new QueueActual(new PriorityAsyncQueue<int>(capacity)),
            "lifo" => new QueueActual(new LifoAsyncQueue<int>(capacity)),
            "channel" or "channel-rendezvous" => new ChannelActual(MemoryChannel.Open<int>(capacity)),
            "racy" => new RacyActual(capacity),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        public void Put(int value) => _outcomes.Enqueue($"put {value}: {TryPut(value)}");

        public void Get() => _outcomes.Enqueue($"get: {TryGet()}");

        public void Count() => _outcomes.Enqueue($"count: {CountNow()}");

        public abstract void Close();

        public bool Matches(Model model)
        {
            return Remaining().SequenceEqual(model.DrainOrder()) && _outcomes.Order().SequenceEqual(model.Outcomes.Order());
        }

        public override string ToString() => $"outcomes [{string.Join(", ", _outcomes)}] remaining [{string.Join(", ", Remaining())}]";

        // CsCheck compares the finished actual with many candidate orders, possibly on several threads at once: drain it once.
        private List<int> Remaining()
        {
            lock (_drainGate)
            {
                return _remaining ??= Drain();
            }
        }

        protected abstract string TryPut(int value);

        protected abstract string TryGet();

        protected abstract int CountNow();

        protected abstract List<int> Drain();
    }

    private sealed class QueueActual(AsyncQueue<int> queue) : Actual
    {
        public override void Close() => queue.Shutdown();

        protected override string TryPut(int value)
        {
            try
            {
                queue.PutNowait(value);
                return "ok";
            }
            catch (QueueFullException)
            {
                return "full";
            }
            catch (QueueShutDownException)
            {
                return "closed";
            }
        }

        protected override string TryGet()
        {
            try
            {
                return queue.GetNowait().ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (QueueEmptyException)
            {
                return "empty";
            }
            catch (QueueShutDownException)
            {
                return "closed";
            }
        }

        protected override int CountNow() => queue.Count;

        protected override List<int> Drain()
        {
            var items = new List<int>();
            while (queue.TryGet(out var item))
            {
                items.Add(item);
            }

            return items;
        }
    }

    private sealed class ChannelActual((SendChannel<int> Send, ReceiveChannel<int> Receive) channel) : Actual
    {
        public override void Close() => channel.Send.Dispose();

        protected override string TryPut(int value)
        {
            try
            {
                return channel.Send.TrySend(value) ? "ok" : "full";
            }
            catch (ObjectDisposedException)
            {
                return "closed";
            }
        }

        protected override string TryGet() =>
            channel.Receive.TryReceive(out var item) ? item.ToString(System.Globalization.CultureInfo.InvariantCulture) : "empty";

        protected override int CountNow() => channel.Receive.GetStatistics().CurrentBufferUsed;

        protected override List<int> Drain()
        {
            var items = new List<int>();
            while (channel.Receive.TryReceive(out var item))
            {
                items.Add(item);
            }

            return items;
        }
    }

    /// <summary>The control: check-then-act on a plain list with no lock, widened by a spin. It must fail the check.</summary>
    private sealed class RacyActual(int capacity) : Actual
    {
        private readonly List<int> _items = [];
        private volatile bool _closed;

        public override void Close() => _closed = true;

        protected override string TryPut(int value)
        {
            if (_closed)
            {
                return "closed";
            }

            if (_items.Count >= capacity)
            {
                return "full";
            }

            Thread.SpinWait(2_000);
            _items.Add(value);
            return "ok";
        }

        protected override string TryGet()
        {
            if (_items.Count == 0)
            {
                return _closed ? "closed" : "empty";
            }

            Thread.SpinWait(2_000);
            var item = _items[0];
            _items.RemoveAt(0);
            return item.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        protected override int CountNow() => _items.Count;

        protected override List<int> Drain() => [.. _items];
    }

    /// <summary>The sequential specification: asyncio's queue semantics (and Trio's for channels) on a list.</summary>
    internal sealed class Model(string kind, int capacity)
    {
        private readonly List<string> _outcomes = [];
        private bool _closed;

        public List<int> Items { get; } = [];

        public IReadOnlyList<string> Outcomes => _outcomes;

        public void Put(int value)
        {
            string outcome;
            if (_closed)
            {
                outcome = "closed";
            }
            else if (Items.Count >= capacity)
            {
                outcome = "full";
            }
            else
            {
                Items.Add(value);
                outcome = "ok";
            }

            _outcomes.Add($"put {value}: {outcome}");
        }

        public void Get()
        {
            if (Items.Count == 0)
            {
                // A receive channel's TryReceive says "nothing now" whether or not the channel has ended.
                _outcomes.Add(_closed && !kind.StartsWith("channel", StringComparison.Ordinal) ? "get: closed" : "get: empty");
                return;
            }

            var index = kind switch
            {
                "lifo" => Items.Count - 1,
                "priority" => Items.IndexOf(Items.Min()),
                _ => 0,
            };
            var item = Items[index];
            Items.RemoveAt(index);
            _outcomes.Add($"get: {item}");
        }

        public void Count() => _outcomes.Add($"count: {Items.Count}");

        /// <summary>The order in which gets would hand out the remaining items.</summary>
        public List<int> DrainOrder() => kind switch
        {
            "lifo" => Enumerable.Reverse(Items).ToList(),
            "priority" => [.. Items.Order()],
            _ => [.. Items],
        };

        public void Close() => _closed = true;

        public override string ToString() => $"outcomes [{string.Join(", ", _outcomes)}] remaining [{string.Join(", ", DrainOrder())}]";
    }
}
