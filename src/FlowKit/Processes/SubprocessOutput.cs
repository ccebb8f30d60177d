namespace FlowKit.Processes;

/// <summary>What happens to a child's standard output or standard error.</summary>
public enum SubprocessOutput
{
    /// <summary>
    /// Read by the caller through the handle's line or chunk enumerables, through a bounded buffer: when the caller stops
    /// reading, the buffer and then the OS pipe fill and the child blocks on its next write (backpressure, never unbounded memory).
    /// </summary>
    Pipe,

    /// <summary>Read continuously and dropped, keeping only a bounded tail (see <see cref="SubprocessOptions.TailBytes"/>), so the child never blocks on it.</summary>
    Drain,

    /// <summary>Written straight to the parent's own stream (the child shares the parent's descriptor).</summary>
    Inherit,
}
