namespace FlowKit;

/// <summary>The kind of a <see cref="FlowErrorPolicy"/>.</summary>
public enum FlowErrorAction
{
    /// <summary>Fail the flow.</summary>
    Fail,

    /// <summary>Drop the item and go on.</summary>
    Skip,

    /// <summary>Run the item again after a backoff, then fall back.</summary>
    Retry,

    /// <summary>Hand the item and its exception to a sink and go on.</summary>
    DeadLetter,
}
