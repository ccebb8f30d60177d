"""Hostile peers for the server-limit tests (loopback only, bounded in count and time).

usage: hostile_clients.py PLAIN_PORT N_IDLE TLS_PORT N_TLS DEADLINE_S

Opens N_IDLE TCP connections that never send a byte and N_TLS connections that send a TLS record header announcing a
ClientHello and then stall, prints "ready", then waits until the server has closed every one (or DEADLINE_S passes) and
prints, per kind, how many were closed and the distribution of the time from connect to close.
"""
import selectors
import socket
import sys
import time


def connect(port, count, payload, sockets, started):
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        started[s.fileno()] = time.monotonic()
        if payload:
            s.sendall(payload)
        s.setblocking(False)
        sockets.append(s)


def summary(kind, closes, total):
    closes.sort()
    if not closes:
        return f"{kind} closed=0 of {total}"
    pick = lambda q: closes[min(len(closes) - 1, int(q * len(closes)))]
    return (f"{kind} closed={len(closes)} of {total} min={closes[0]:.3f} p50={pick(0.5):.3f} "
            f"p99={pick(0.99):.3f} max={closes[-1]:.3f}")


def main():
    plain_port, n_idle, tls_port, n_tls, deadline = (int(a) for a in sys.argv[1:6])
    idle, tls, started = [], [], {}
    connect(plain_port, n_idle, b"", idle, started)
    connect(tls_port, n_tls, bytes([0x16, 0x03, 0x01, 0x02, 0x00]), tls, started)
    print(f"ready idle={len(idle)} tls={len(tls)}", flush=True)
    kind_of = {s.fileno(): "idle" for s in idle}
    kind_of.update({s.fileno(): "tls" for s in tls})
    closes = {"idle": [], "tls": []}
    selector = selectors.DefaultSelector()
    for s in idle + tls:
        selector.register(s, selectors.EVENT_READ)
    open_count = len(idle) + len(tls)
    end = time.monotonic() + deadline
    while open_count and time.monotonic() < end:
        for key, _ in selector.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if data:
                continue
            fd = s.fileno()
            closes[kind_of[fd]].append(time.monotonic() - started[fd])
            selector.unregister(s)
            s.close()
            open_count -= 1
    print(summary("idle", closes["idle"], n_idle), flush=True)
    print(summary("tls", closes["tls"], n_tls), flush=True)
    print("done", flush=True)


main()
