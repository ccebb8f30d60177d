using System.Threading.Channels;

namespace FlowKit.Flows;

/// <summary>
/// The push side of a stage: its upstream calls <see cref="EmitAsync"/> once per item (never concurrently) and <see cref="CompleteAsync"/>
/// once at the end. Fused stages are emitters that call the next emitter inline, so a chain of them costs a few virtual calls per item.
/// </summary>
internal abstract class Emitter<T>
{
    public abstract ValueTask EmitAsync(T item, CancellationToken cancellationToken);

    public abstract ValueTask CompleteAsync(CancellationToken cancellationToken);

    /// <summary>The buffer this emitter's chain writes into synchronously, if that buffer lets its writer batch wake-ups (see
    /// <see cref="WakeBatcher"/>); null (the default) for anything else. Only emitters that pass each item straight on forward it.</summary>
    public virtual DeferredWakeTarget? WakeTarget => null;
}

/// <summary>
/// Writes into a buffer the run owns (see <see cref="FlowRun.CreateBuffer{TItem}"/>). It waits without a token: stopping the run completes every
/// owned buffer with an <see cref="OperationCanceledException"/>, which wakes blocked writers and readers without a registration per wait.
/// </summary>
internal sealed class BufferEmitter<T>(ChannelWriter<T> writer) : Emitter<T>
{
    public override ValueTask EmitAsync(T item, CancellationToken cancellationToken) =>
        writer.TryWrite(item) ? default : writer.WriteAsync(item, CancellationToken.None);

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        writer.TryComplete();
        return default;
    }
}

/// <summary>Writes into a channel the run does not own (a caller's writer): waits observe the run's token.</summary>
internal sealed class ChannelEmitter<T>(ChannelWriter<T> writer) : Emitter<T>
{
    public override ValueTask EmitAsync(T item, CancellationToken cancellationToken) =>
        writer.TryWrite(item) ? default : writer.WriteAsync(item, cancellationToken);

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        writer.TryComplete();
        return default;
    }
}
