namespace FlowKit;

/// <summary>A bounded buffer with <see cref="Overflow.Fail"/> was full when its push source offered another item.</summary>
public sealed class BufferOverflowException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public BufferOverflowException()
        : base("The buffer overflowed: the source produced an item while the buffer was full.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What overflowed and why.</param>
    public BufferOverflowException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    /// <param name="message">What overflowed and why.</param>
    /// <param name="innerException">The cause.</param>
    public BufferOverflowException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a buffer of <paramref name="capacity"/> items.</summary>
    /// <param name="capacity">The buffer's capacity.</param>
    /// <param name="delivered">Items the source had delivered into the buffer before it overflowed.</param>
    public BufferOverflowException(int capacity, long delivered)
        : base($"The buffer of {capacity} item(s) was full when the source produced item #{delivered + 1}; the consumer is slower than the source (Overflow.Fail).")
    {
        Capacity = capacity;
        Delivered = delivered;
    }

    /// <summary>The buffer's capacity.</summary>
    public int Capacity { get; }

    /// <summary>Items the source had delivered before it overflowed.</summary>
    public long Delivered { get; }
}
