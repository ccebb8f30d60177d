using FlowKit.Net;

namespace FlowKit.Samples.Net;

/// <summary>Course 24.5.1: Trio's echo client. A sender writes every second (on <see cref="SampleContext.Time"/>) and a receiver prints
/// what comes back, both in one nursery on an event loop so that the prints come in Trio's order.</summary>
public sealed class EchoClientSample : ISample
{
    private const int BufSize = 16384;

    private static readonly byte[] Message = "async can sometimes be confusing, but I believe in you!"u8.ToArray();

    public string Name => "echo-client";

    public string Description => "Trio 24.5.1: echo client, a sender and a receiver in a nursery (--port 12345)";

    public Task<int> RunAsync(SampleContext context)
    {
        using var loop = context.CreateLoop();
        loop.RunUntilComplete(() => Parent(context, context.IntOption("port", 12345)));
        return Task.FromResult(0);
    }

    private static async Task Sender(SampleContext context, SocketStream clientStream, CancellationToken cancellationToken)
    {
        context.WriteLine("sender: started!");
        while (true)
        {
            context.WriteLine($"sender: sending {PythonRepr.Bytes(Message)}");
            await clientStream.SendAllAsync(Message, cancellationToken);
            await Task.Delay(TimeSpan.FromSeconds(1), context.Time, cancellationToken);
        }
    }

    private static async Task Receiver(SampleContext context, SocketStream clientStream, Nursery nursery, CancellationToken cancellationToken)
    {
        context.WriteLine("receiver: started!");
        var buffer = new byte[BufSize];
        while (true)
        {
            var n = await clientStream.ReceiveSomeAsync(buffer, cancellationToken);
            context.WriteLine($"receiver: got data {PythonRepr.Bytes(buffer.AsSpan(0, n))}");
            if (n == 0)
            {
                context.WriteLine("receiver: connection closed");

                // sys.exit(): stop the sender too, and leave.
                nursery.Cancel();
                return;
            }
        }
    }

    private static async Task Parent(SampleContext context, int port)
    {
        context.WriteLine($"parent: connecting to 127.0.0.1:{port}");
        await using var clientStream = await SocketStream.ConnectTcpAsync("127.0.0.1", port, context.CancellationToken);
        await Nursery.RunAsync(nursery =>
        {
            context.WriteLine("parent: spawning sender...");
            nursery.StartSoon(ct => Sender(context, clientStream, ct));

            context.WriteLine("parent: spawning receiver...");
            nursery.StartSoon(ct => Receiver(context, clientStream, nursery, ct));
            return Task.CompletedTask;
        }, context.CancellationToken);
    }
}
