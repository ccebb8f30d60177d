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
}

/// <summary>Writes into a bounded channel: the buffer in front of a stage that runs on its own task.</summary>
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
