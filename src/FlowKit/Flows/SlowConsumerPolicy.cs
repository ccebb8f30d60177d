namespace FlowKit;

/// <summary>What a broadcast does for one sink whose buffer is full.</summary>
public enum SlowConsumerPolicy
{
    /// <summary>Wait for that sink: the whole broadcast (and its upstream) goes at the pace of the slowest waiting sink.</summary>
    Wait,

    /// <summary>Drop the item for that sink only and count the drop; the other sinks are not slowed down.</summary>
    Drop,
}
