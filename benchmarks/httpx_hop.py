"""What one extra event-loop hop per request costs on httpx's pool (the default road).

    python -m benchmarks.httpx_hop                 # starts make bench's nginx target
    python -m benchmarks.httpx_hop --url http://127.0.0.1:PORT --concurrency 10

The SDK's httpx road runs each exchange in its own task (httpcore strands connections when
a request is cancelled while it waits for one, so the exchange must outlive a cancelled
caller). A task starts one loop iteration after it is created and its caller resumes one
iteration after it ends. This measures the same ``client.post`` on the SDK's httpx pool
(a) straight from the caller and (b) after awaiting an empty task, i.e. with the same hops:
CPU per call, loop iterations per call, and how often httpcore assigns requests and checks
idle connections for expiry (``has_expired`` reads each idle socket) — the counts come from
``cProfile`` over a separate batch of calls.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
from typing import Any

import httpx

from . import contenders

FUNCTIONS = {
    "_assign_requests_to_connections": "pool assignments",
    "has_expired": "idle-connection expiry checks",
    "is_socket_readable": "socket readability probes",
}


async def _measure(url: str, concurrency: int, calls: int, hop: bool) -> dict[str, Any]:
    from cme_async._transport import make_transport

    loop = asyncio.get_running_loop()
    selector: Any = loop._selector  # type: ignore[attr-defined]
    select = selector.select
    iterations = 0

    def counting_select(timeout: float | None = None) -> Any:
        nonlocal iterations
        iterations += 1
        return select(timeout)

    transport, _ = make_transport(None, "httpx")
    client: httpx.AsyncClient = transport.client  # type: ignore[attr-defined]
    target = httpx.URL(f"{url}{contenders.PATHS['small']}?auth=tf_bench")
    content = contenders.REQUEST_BODIES["small"]

    async def call() -> Any:
        if hop:
            await loop.create_task(asyncio.sleep(0))
        response = await client.post(target, content=content, headers=contenders.HEADERS)
        return contenders.check(json.loads(response.content))

    async def run(n: int) -> None:
        async def one_task(k: int) -> None:
            for _ in range(k):
                await call()

        await asyncio.gather(*(one_task(n // concurrency) for _ in range(concurrency)))

    try:
        await run(concurrency * 30)  # connections, warm caches
        selector.select = counting_select
        started = time.process_time()
        await run(calls)
        cpu = time.process_time() - started
        selector.select = select
        counted = iterations
        profiler = cProfile.Profile()
        profiler.enable()
        await run(calls)
        profiler.disable()
    finally:
        selector.select = select
        await transport.aclose()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    counts = {label: 0 for label in FUNCTIONS.values()}
    for (_file, _line, name), (_cc, ncalls, *_rest) in stats.items():
        if name in FUNCTIONS:
            counts[FUNCTIONS[name]] += ncalls
    return {
        "cpu_us_per_call": cpu / calls * 1e6,
        "loop_iterations_per_call": counted / calls,
        **{f"{label} per call": n / calls for label, n in counts.items()},
    }


async def _main(url: str, concurrency: int, calls: int, rounds: int) -> None:
    for _ in range(rounds):
        for hop in (False, True):
            result = await _measure(url, concurrency, calls, hop)
            label = "after an empty task (the hops of a task per exchange)" if hop else "direct"
            print(f"c={concurrency} client.post {label}:")
            for key, value in result.items():
                print(f"    {key:42s} {value:8.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.httpx_hop", description=__doc__)
    parser.add_argument("--url", help="a running target; default: start the nginx target")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if args.url:
        asyncio.run(_main(args.url, args.concurrency, args.calls, args.rounds))
        return 0
    from . import target_nginx

    log: list[str] = []
    nginx = target_nginx.start(log)
    if nginx is None:
        print("nginx target unavailable: " + "; ".join(log), file=sys.stderr)
        return 1
    try:
        asyncio.run(_main(nginx.url, args.concurrency, args.calls, args.rounds))
    finally:
        nginx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
