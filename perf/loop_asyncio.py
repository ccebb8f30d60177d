#!/usr/bin/env python3
"""asyncio's side of perf/FlowKit.Benchmarks/Loop/EventLoopBenchmarks.cs: 1,000,000 call_soon callbacks and 1,000,000 future
round trips (call_soon sets a future, the coroutine awaits it), on the default loop and, when installed, on uvloop.

Run: /usr/bin/python3 perf/loop_asyncio.py [--n 1000000] [--repeat 3]
"""
import argparse
import asyncio
import time


def callbacks(loop, n):
    done = loop.create_future()

    def nop():
        pass

    def schedule_all():
        for _ in range(n):
            loop.call_soon(nop)
        loop.call_soon(done.set_result, None)

    start = time.perf_counter()
    loop.call_soon(schedule_all)
    loop.run_until_complete(done)
    return n / (time.perf_counter() - start)


def round_trips(loop, n):
    async def ping_pong():
        for _ in range(n):
            fut = loop.create_future()
            loop.call_soon(fut.set_result, None)
            await fut

    start = time.perf_counter()
    loop.run_until_complete(ping_pong())
    return n / (time.perf_counter() - start)


def measure(name, new_loop, n, repeat):
    loop = new_loop()
    try:
        cb = max(callbacks(loop, n) for _ in range(repeat))
        rt = max(round_trips(loop, n) for _ in range(repeat))
    finally:
        loop.close()
    print(f"| {name} | {cb / 1e6:.2f} M callbacks/s | {rt / 1e6:.3f} M round trips/s |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| loop | call_soon (best of %d) | future round trips (best of %d) |" % (args.repeat, args.repeat))
    print("|---|---|---|")
    measure("asyncio (default selector loop)", asyncio.new_event_loop, args.n, args.repeat)
    try:
        import uvloop
    except ImportError:
        print("| uvloop | not installed (apt-get install python3-uvloop) | |")
        return
    measure("uvloop " + uvloop.__version__, uvloop.new_event_loop, args.n, args.repeat)


if __name__ == "__main__":
    main()
