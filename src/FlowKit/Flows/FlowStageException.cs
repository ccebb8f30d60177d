namespace FlowKit;

/// <summary>A flow failed because one of its stages threw while processing an item; names the stage and carries the item and the original exception.</summary>
public sealed class FlowStageException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public FlowStageException()
        : this("A flow stage failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public FlowStageException(string message)
        : base(message)
    {
        StageName = string.Empty;
    }

    /// <summary>Creates the exception with a message and the original exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The original exception.</param>
    public FlowStageException(string message, Exception innerException)
        : base(message, innerException)
    {
        StageName = string.Empty;
    }

    /// <summary>Creates the exception for <paramref name="stageName"/> failing on <paramref name="item"/>.</summary>
    /// <param name="stageName">The stage that failed.</param>
    /// <param name="item">The item it was processing (null when the failure was not about one item).</param>
    /// <param name="innerException">The original exception.</param>
    public FlowStageException(string stageName, object? item, Exception innerException)
        : base($"Flow stage '{stageName}' failed{(item is null ? string.Empty : $" on item '{item}'")}: {innerException?.Message}", innerException)
    {
        ArgumentNullException.ThrowIfNull(stageName);
        ArgumentNullException.ThrowIfNull(innerException);
        StageName = stageName;
        Item = item;
    }

    /// <summary>The stage that failed (its <c>Named</c> name or its default operator and position).</summary>
    public string StageName { get; }

    /// <summary>The item the stage was processing, or null when the failure was not about one item.</summary>
    public object? Item { get; }
}
