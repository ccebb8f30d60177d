using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace FlowKit;

/// <summary>
/// A FIFO queue core that is a plain <see cref="Channel{T}"/> (bounded with <see cref="BoundedChannelFullMode.Wait"/>, or unbounded):
/// the channel already gives cancellation-safe, FIFO-fair waiting and a hard bound. This class only maps the channel's closed state
/// to the owner's exceptions and counts the callers that had to wait.
/// </summary>
internal sealed class ChannelQueueCore<T> : QueueCore<T>
{
    private readonly ChannelReader<T> _reader;
    private readonly ChannelWriter<T> _writer;
    private volatile bool _closed;
    private int _waitingPutters;
    private int _waitingGetters;

    public ChannelQueueCore(int capacity, IQueueClosedErrors errors)
        : base(capacity, errors)
    {
        var channel = capacity == Unbounded
            ? Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false })
            : Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
        _reader = channel.Reader;
        _writer = channel.Writer;
    }

    public override int Count => _reader.Count;

    public override bool IsClosed => _closed;

    public override int WaitingPutters => Volatile.Read(ref _waitingPutters);

    public override int WaitingGetters => Volatile.Read(ref _waitingGetters);

    public override bool TryPut(T item)
    {
        if (_writer.TryWrite(item))
        {
            return true;
        }

        // _closed is set before the channel completes, so a write refused because of completion always sees it.
        return _closed ? throw Errors.PutClosed() : false;
    }

    public override ValueTask PutAsync(T item, CancellationToken cancellationToken)
    {
        var write = _writer.WriteAsync(item, cancellationToken);
        return write.IsCompletedSuccessfully ? write : AwaitPutAsync(write);
    }

    public override bool TryGet([MaybeNullWhen(false)] out T item) => _reader.TryRead(out item);

    public override ValueTask<T> GetAsync(CancellationToken cancellationToken)
    {
        var read = _reader.ReadAsync(cancellationToken);
        return read.IsCompletedSuccessfully ? read : AwaitGetAsync(read);
    }

    public override int Close(bool dropItems)
    {
        _closed = true;
        _writer.TryComplete();
        var dropped = 0;
        if (dropItems)
        {
            while (_reader.TryRead(out _))
            {
                dropped++;
            }
        }

        return dropped;
    }

    private async ValueTask AwaitPutAsync(ValueTask write)
    {
        Interlocked.Increment(ref _waitingPutters);
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw Errors.PutClosed();
        }
        finally
        {
            Interlocked.Decrement(ref _waitingPutters);
        }
    }

    private async ValueTask<T> AwaitGetAsync(ValueTask<T> read)
    {
        Interlocked.Increment(ref _waitingGetters);
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw Errors.GetClosed();
        }
        finally
        {
            Interlocked.Decrement(ref _waitingGetters);
        }
    }
}
