"""The fallback benchmark target: a minimal aiohttp server answering fixed bodies.

Used when nginx cannot be installed, and by the smoke test (in process). Run it in
its own process so its CPU does not count against the client under test::

    python -m benchmarks.target_aiohttp --port 0     # prints "PORT <n>" once listening
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from aiohttp import web

from . import bodies


def make_handler(extra_delay: float = 0.0) -> web.Server:
    payloads = bodies.build()
    routes = {path: payloads[name] for path, name in bodies.ROUTES.items()}
    login = payloads["login"]
    vendor = payloads["vendor"]
    error = payloads["error"]
    headers = {"Content-Type": "application/json"}

    async def handler(request: web.BaseRequest) -> web.Response:
        await request.read()
        if extra_delay:
            await asyncio.sleep(extra_delay)
        path = request.path
        if path == "/":
            if request.method == "GET":
                return web.Response(body=login, headers=headers)
            if request.headers.get("X-TC-Action") == "DescribeMaterials":
                return web.Response(body=vendor, headers=headers)
            return web.Response(body=error, headers=headers)
        body = routes.get(path)
        if body is None:
            return web.Response(status=404, body=error, headers=headers)
        return web.Response(body=body, headers=headers)

    return web.Server(handler, access_log=None)


async def start(host: str = "127.0.0.1", port: int = 0) -> tuple[web.ServerRunner, int]:
    """Start the target in the running loop; returns the runner (``await runner.cleanup()``)."""
    runner = web.ServerRunner(make_handler(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096, reuse_address=True)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[union-attr]
    bound = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, int(bound)


async def _main(port: int) -> None:
    runner, bound = await start(port=port)
    print(f"PORT {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(_main(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
