using System.Text;

namespace FlowKit.Tests.TestUtilities;

/// <summary>A thread-safe <see cref="TextWriter"/> that records whole lines and lets a test await a line matching a predicate
/// (a signal, not a sleep).</summary>
public sealed class NetLineRecorder : TextWriter
{
    private readonly object _gate = new();
    private readonly List<string> _lines = [];
    private readonly StringBuilder _current = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

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
        lock (_gate)
        {
            if (value == '\n')
            {
                EndLine();
            }
            else
            {
                _current.Append(value);
            }
        }
    }

    public override void Write(string? value)
    {
        lock (_gate)
        {
            var rest = (value ?? string.Empty).AsSpan();
            int newline;
            while ((newline = rest.IndexOf('\n')) >= 0)
            {
                _current.Append(rest[..newline]);
                EndLine();
                rest = rest[(newline + 1)..];
            }

            _current.Append(rest);
        }
    }

    public override void WriteLine(string? value) => Write((value ?? string.Empty) + "\n");

    /// <summary>Completes with the first line (already written or to come) that matches.</summary>
    public Task<string> WaitForAsync(Func<string, bool> match)
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

    private void EndLine()
    {
        var line = _current.ToString().TrimEnd('\r');
        _current.Clear();
        _lines.Add(line);
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_waiters[i].Match(line))
            {
                _waiters[i].Done.TrySetResult(line);
                _waiters.RemoveAt(i);
            }
        }
    }

    /// <summary>Counts lines that match.</summary>
    public int Count(Func<string, bool> match)
    {
        lock (_gate)
        {
            return _lines.Count(match);
        }
    }
}
