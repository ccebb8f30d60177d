namespace FlowKit.Samples;

/// <summary>One runnable sample: a subcommand of the samples program.</summary>
public interface ISample
{
    /// <summary>The subcommand, e.g. <c>parallel</c>.</summary>
    string Name { get; }

    /// <summary>One line for <c>list</c>.</summary>
    string Description { get; }

    /// <summary>Runs the sample; returns the process exit code.</summary>
    Task<int> RunAsync(SampleContext context);
}
