namespace FlowKit.Samples;

/// <summary>What a sample gets from its host: where to print, its arguments, its clock and its cancellation.
/// Tests run samples in process with a <c>FakeTimeProvider</c> and a <see cref="StringWriter"/>.</summary>
public sealed class SampleContext(TextWriter output, IReadOnlyList<string> args, TimeProvider? time = null, CancellationToken cancellationToken = default)
{
    /// <summary>Where the sample prints.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Arguments after the sample's name.</summary>
    public IReadOnlyList<string> Args { get; } = args;

    /// <summary>The clock every sample uses for sleeps and timestamps.</summary>
    public TimeProvider Time { get; } = time ?? TimeProvider.System;

    /// <summary>Cancelled on Ctrl+C (or by a test).</summary>
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Raised when a sample creates an event loop, so a test can drive virtual time once the loop is idle.</summary>
    public event Action<EventLoop>? LoopCreated;

    /// <summary>Prints one line.</summary>
    public void WriteLine(string line) => Out.WriteLine(line);

    /// <summary>Creates an event loop on the sample's clock.</summary>
    public EventLoop CreateLoop()
    {
        var loop = new EventLoop(Time);
        LoopCreated?.Invoke(loop);
        return loop;
    }

    /// <summary>The value of <c>--name value</c>, or <paramref name="fallback"/>.</summary>
    public string Option(string name, string fallback)
    {
        for (var i = 0; i < Args.Count - 1; i++)
        {
            if (Args[i] == "--" + name)
            {
                return Args[i + 1];
            }
        }

        return fallback;
    }

    /// <summary>The integer value of <c>--name value</c>, or <paramref name="fallback"/>.</summary>
    public int IntOption(string name, int fallback) =>
        int.TryParse(Option(name, fallback.ToString(System.Globalization.CultureInfo.InvariantCulture)), out var value)
            ? value
            : throw new ArgumentException($"--{name} must be an integer.");

    /// <summary>True when <c>--name</c> is present.</summary>
    public bool Flag(string name) => Args.Contains("--" + name);
}
