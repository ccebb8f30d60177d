namespace FlowKit.Tests.Structured;

/// <summary>
/// Reliability families 15 and 16: randomly shaped trees of nested nurseries whose nodes complete, throw, sleep until cancelled,
/// ignore cancellation for a while, start a grandchild through StartAsync, or open a nested nursery. After RunAsync no node is
/// still running, and the exceptions thrown are exactly the ones the failing nodes threw, each once.
/// </summary>
[TestClass]
public sealed class NurseryTreeTests
{
    private static readonly int Trees = Environment.GetEnvironmentVariable("FLOWKIT_TEST_STRESS") == "1" ? 10_000 : 1_000;

    private enum Kind
    {
        Complete,
        Throw,
        SleepUntilCancelled,
        IgnoreCancellationBriefly,
        StartGrandchild,
        NestedNursery,
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task RandomTrees_NoTaskOutlivesItsNursery_ExactlyTheExpectedExceptions()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var maxLiveAfterExit = 0;
        var totalNodes = 0;
        var withFailures = 0;
        for (var t = 0; t < Trees; t++)
        {
            var treeSeed = random.Next();
            var tree = Generate(new Random(treeSeed), depth: 0, budget: new Budget(60));
            var run = new TreeRun(tree);
            var (live, nodes, failures) = await run.ExecuteAsync($"seed {seed}, tree {t}, tree seed {treeSeed}");
            maxLiveAfterExit = Math.Max(maxLiveAfterExit, live);
            totalNodes += nodes;
            withFailures += failures > 0 ? 1 : 0;
        }

        Console.WriteLine($"Family 15/16: {Trees} trees ({totalNodes} nodes, {withFailures} with failures), max live after exit = {maxLiveAfterExit}, seed {seed}");
        Assert.AreEqual(0, maxLiveAfterExit);
    }

    private static Node Generate(Random random, int depth, Budget budget)
    {
        var fanOut = random.Next(0, 9);
        var children = new List<Node>();
        for (var i = 0; i < fanOut && budget.Take(); i++)
        {
            var kind = (Kind)random.Next(depth < 4 ? 6 : 4);
            var node = kind switch
            {
                Kind.StartGrandchild => new Node(kind, [new Node((Kind)random.Next(4), [])]),
                Kind.NestedNursery => Generate(random, depth + 1, budget) with { Kind = Kind.NestedNursery },
                _ => new Node(kind, []),
            };
            children.Add(node);
        }

        return new Node(Kind.NestedNursery, children);
    }

    private sealed record Node(Kind Kind, IReadOnlyList<Node> Children);

    private sealed class Budget(int nodes)
    {
        public bool Take() => nodes-- > 0;
    }

    private sealed class TreeRun(Node root)
    {
        private readonly List<Exception> _thrown = [];
        private readonly TaskCompletionSource _allStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _live;
        private int _entered;
        private int _exited;
        private int _total;

        public async Task<(int Live, int Nodes, int Failures)> ExecuteAsync(string where)
        {
            _total = Count(root) - 1;
            var plannedFailures = CountThrows(root);
            if (_total == 0)
            {
                _allStarted.TrySetResult();
            }

            Exception? caught = null;
            try
            {
                await Nursery.RunAsync(async n =>
                {
                    foreach (var child in root.Children)
                    {
                        Spawn(n, child);
                    }

                    await _allStarted.Task;
                    if (plannedFailures == 0)
                    {
                        n.Cancel();
                    }
                });
            }
            catch (Exception ex)
            {
                caught = ex;
            }

            var live = Volatile.Read(ref _live);
            Assert.AreEqual(0, live, $"A node was still running after RunAsync returned ({where}).");
            Assert.AreEqual(_total, _exited, $"Not every node finished ({where}).");

            var leaves = caught is null ? [] : Flatten(caught).ToList();
            Assert.HasCount(plannedFailures, _thrown, where);
            Assert.HasCount(_thrown.Count, leaves, $"Reported failures differ from thrown ones ({where}): {caught}");
            foreach (var thrown in _thrown)
            {
                Assert.AreEqual(1, leaves.Count(l => ReferenceEquals(l, thrown)), $"A failure was lost or reported twice ({where}).");
            }

            if (plannedFailures == 1)
            {
                Assert.AreSame(_thrown[0], caught, $"A single failure must be rethrown as is ({where}).");
            }

            Assert.IsFalse(leaves.Any(l => l is OperationCanceledException), $"A sibling's cancellation was reported as a failure ({where}).");
            return (live, _total, plannedFailures);
        }

        private static int Count(Node node) => 1 + node.Children.Sum(Count);

        private static int CountThrows(Node node) => (node.Kind == Kind.Throw ? 1 : 0) + node.Children.Sum(CountThrows);

        private static IEnumerable<Exception> Flatten(Exception ex) =>
            ex is AggregateException agg ? agg.InnerExceptions.SelectMany(Flatten) : [ex];

        private void Spawn(Nursery nursery, Node node) => nursery.StartSoon(ct => RunNode(nursery, node, ct));

        private async Task RunNode(Nursery nursery, Node node, CancellationToken ct)
        {
            Interlocked.Increment(ref _live);
            if (Interlocked.Increment(ref _entered) == _total)
            {
                _allStarted.TrySetResult();
            }

            try
            {
                switch (node.Kind)
                {
                    case Kind.Complete:
                        await Task.Yield();
                        break;
                    case Kind.Throw:
                        await Task.Yield();
                        var ex = new InvalidOperationException("node failed");
                        lock (_thrown)
                        {
                            _thrown.Add(ex);
                        }

                        throw ex;
                    case Kind.SleepUntilCancelled:
                        await Task.Delay(Timeout.Infinite, ct);
                        break;
                    case Kind.IgnoreCancellationBriefly:
                        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        await using (ct.Register(() => cancelled.TrySetResult()))
                        {
                            await cancelled.Task;
                        }

                        for (var i = 0; i < 5; i++)
                        {
                            await Task.Yield();
                        }

                        break;
                    case Kind.StartGrandchild:
                        await nursery.StartAsync<int>(async (status, childCt) =>
                        {
                            status.Started(0);
                            await RunNode(nursery, node.Children[0], childCt);
                        }, ct);
                        break;
                    case Kind.NestedNursery:
                        await Nursery.RunAsync(inner =>
                        {
                            foreach (var child in node.Children)
                            {
                                Spawn(inner, child);
                            }

                            return Task.CompletedTask;
                        }, ct);
                        break;
                }
            }
            finally
            {
                Interlocked.Decrement(ref _live);
                Interlocked.Increment(ref _exited);
            }
        }
    }
}
