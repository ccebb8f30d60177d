using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FlowKit.Net;

/// <summary>
/// FlowKit's own I/O threads on Linux: an edge-triggered epoll set per thread, whose readiness events complete reads and writes and run
/// their continuations right there. The BCL's socket engine instead queues every completion to the thread pool (one hop per operation,
/// and the pool's spinning shows as a <c>sched_yield</c> per request); its inline mode needs a process-wide environment variable.
/// </summary>
internal sealed class EpollReactor
{
    private static readonly Lazy<EpollReactor[]> LazyReactors = new(CreateReactors);
    private static int s_next;
    private static long s_ids;

    private readonly int _epfd;
    private readonly ConcurrentDictionary<ulong, ReactorSocket> _sockets = new();

    private EpollReactor(int index)
    {
        _epfd = EpollInterop.epoll_create1(EpollInterop.EpollCloexec);
        if (_epfd < 0)
        {
            throw new SocketException((int)EpollInterop.ToSocketError(Marshal.GetLastPInvokeError()));
        }

        var thread = new Thread(Run) { IsBackground = true, Name = $"FlowKit I/O {index}" };
        thread.UnsafeStart();
    }

    /// <summary>Attaches <paramref name="socket"/> to one of the I/O threads (round robin).</summary>
    public static ReactorSocket Attach(Socket socket)
    {
        var reactors = LazyReactors.Value;
        var reactor = reactors[(int)((uint)Interlocked.Increment(ref s_next) % (uint)reactors.Length)];
        return reactor.Register(socket);
    }

    internal bool IsRegistered(ulong id) => _sockets.ContainsKey(id);

    /// <summary>Forgets <paramref name="socket"/>; <paramref name="fd"/> is its open descriptor, or -1 when it is already closed (the
    /// kernel has then dropped it from the epoll set).</summary>
    internal void Unregister(ReactorSocket socket, int fd)
    {
        if (fd >= 0)
        {
            var ev = default(EpollInterop.EpollEvent);
            _ = EpollInterop.epoll_ctl(_epfd, EpollInterop.EpollCtlDel, fd, ref ev);
        }

        _sockets.TryRemove(socket.Id, out _);
    }

    private static EpollReactor[] CreateReactors()
    {
        // One per processor, like Kestrel's I/O queues: handler code runs inline on these threads, so they are its parallelism.
        var count = Math.Clamp(Environment.ProcessorCount, 1, 16);
        var reactors = new EpollReactor[count];
        for (var i = 0; i < count; i++)
        {
            reactors[i] = new EpollReactor(i);
        }

        return reactors;
    }

    private ReactorSocket Register(Socket socket)
    {
        socket.Blocking = false;
        var id = (ulong)Interlocked.Increment(ref s_ids);
        var reactorSocket = new ReactorSocket(this, socket, id);
        _sockets[id] = reactorSocket;
        var ev = new EpollInterop.EpollEvent
        {
            Events = EpollInterop.EpollIn | EpollInterop.EpollOut | EpollInterop.EpollRdHup | EpollInterop.EpollEt,
            Data = id,
        };
        if (EpollInterop.epoll_ctl(_epfd, EpollInterop.EpollCtlAdd, (int)socket.SafeHandle.DangerousGetHandle(), ref ev) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            _sockets.TryRemove(id, out _);
            throw new SocketException((int)EpollInterop.ToSocketError(error));
        }

        return reactorSocket;
    }

    private void Run()
    {
        var events = new EpollInterop.EpollEvent[256];
        while (true)
        {
            var count = EpollInterop.epoll_wait(_epfd, events, events.Length, -1);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == EpollInterop.EIntr)
                {
                    continue;
                }

                // The epoll set itself failed: nothing more can be delivered by this thread.
                return;
            }

            for (var i = 0; i < count; i++)
            {
                if (_sockets.TryGetValue(events[i].Data, out var socket))
                {
                    socket.OnEvents(events[i].Events);
                }
            }
        }
    }
}
