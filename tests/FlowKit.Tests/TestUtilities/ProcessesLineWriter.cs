using System.Text;

namespace FlowKit.Tests.TestUtilities;

/// <summary>A thread-safe writer that records lines and lets a test await a line matching a predicate (ordering without sleeps).</summary>
internal sealed class ProcessesLineWriter : TextWriter
{
    private readonly Lock _gate = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly StringBuilder _partial = new();

    public override Encoding Encoding => Encoding.UTF8;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return _lines.ToArray();
            }
        }
    }

    public override void Write(char value)
    {
        if (value == '\n')
        {
            string line;
            lock (_gate)
            {
                line = _partial.ToString().TrimEnd('\r');
                _partial.Clear();
                _lines.Add(line);
                foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
                {
                    _waiters.Remove(waiter);
                    waiter.Done.TrySetResult(line);
                }
            }

            return;
        }

        lock (_gate)
        {
            _partial.Append(value);
        }
    }

    public override void Write(string? value)
    {
        foreach (var c in value ?? string.Empty)
        {
            Write(c);
        }
    }

    public override void WriteLine(string? value)
    {
        Write(value);
        Write('\n');
    }

    public Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        lock (_gate)
        {
            var existing = _lines.FirstOrDefault(match);
            if (existing is not null)
            {
                return Task.FromResult(existing);
            }

            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            return done.Task;
        }
    }
}
