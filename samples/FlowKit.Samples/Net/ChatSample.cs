using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;

using FlowKit.Net;

namespace FlowKit.Samples.Net;

/// <summary>A line-based chat server: every line a client sends goes to every other client. Shows <see cref="SocketStream.ReadLinesAsync"/>,
/// broadcasting through a bounded outbox per client (a client too slow to keep up is disconnected, not buffered without limit), and
/// clean disconnects.</summary>
public sealed class ChatSample : ISample
{
    private const int MaxLineLength = 1024;
    private const int OutboxCapacity = 256;

    public string Name => "chat";

    public string Description => "Line-based chat server: every line goes to every other client (--port 12346; --port 0 picks a free port)";

    public async Task<int> RunAsync(SampleContext context)
    {
        var port = context.IntOption("port", 12346);
        await using var server = SocketServer.ListenTcp(IPAddress.Loopback, port);
        context.WriteLine($"chat: listening on port {server.LocalEndPoint.Port}");
        var room = new ConcurrentDictionary<int, Member>();
        var counter = 0;
        try
        {
            await server.ServeAsync((stream, ct) => ServeClient(context, room, stream, Interlocked.Increment(ref counter), ct), context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            context.WriteLine("chat: stopped");
        }

        return 0;
    }

    private static void Broadcast(ConcurrentDictionary<int, Member> room, int from, string message)
    {
        foreach (var (id, member) in room)
        {
            if (id != from && !member.Outbox.Writer.TryWrite(message))
            {
                // Too slow to keep up (its outbox is full because it does not read): drop it rather than buffer without limit.
                member.Outbox.Writer.TryComplete();
                try
                {
                    member.Drop.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // It has just left by itself.
                }
            }
        }
    }

    private static async Task ServeClient(SampleContext context, ConcurrentDictionary<int, Member> room, SocketStream stream, int id, CancellationToken cancellationToken)
    {
        var outbox = Channel.CreateBounded<string>(new BoundedChannelOptions(OutboxCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        using var drop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        room[id] = new Member(outbox, drop);

        // Announce before printing, so whoever watches the log knows the others have been told.
        Broadcast(room, id, $"* client {id} joined");
        context.WriteLine($"chat: client {id} joined");
        try
        {
            await Nursery.RunAsync(async nursery =>
            {
                nursery.StartSoon(async ct =>
                {
                    await foreach (var message in outbox.Reader.ReadAllAsync(ct))
                    {
                        await stream.WriteLineAsync(message, ct);
                    }
                });

                try
                {
                    await foreach (var line in stream.ReadLinesAsync(MaxLineLength, nursery.CancellationToken))
                    {
                        context.WriteLine($"chat: [{id}] {line}");
                        Broadcast(room, id, $"[{id}] {line}");
                    }
                }
                catch (LineTooLongException)
                {
                    context.WriteLine($"chat: client {id} sent a line over {MaxLineLength} bytes");
                }

                // The client left (or misbehaved): stop its writer too.
                nursery.Cancel();
            }, drop.Token);
        }
        catch (OperationCanceledException) when (drop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            context.WriteLine($"chat: client {id} dropped: too slow to keep up");
        }
        catch (BrokenStreamException ex)
        {
            context.WriteLine($"chat: client {id} dropped: {ex.Message}");
        }
        finally
        {
            room.TryRemove(id, out _);
            outbox.Writer.TryComplete();
            Broadcast(room, id, $"* client {id} left");
            context.WriteLine($"chat: client {id} left");
        }
    }

    private sealed record Member(Channel<string> Outbox, CancellationTokenSource Drop);
}
