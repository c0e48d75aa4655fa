"""Profile the SDK's call road with pyinstrument (``pip install cme-async[bench]``).

    python -m benchmarks.profile_hot_path                 # SDK over httpx.MockTransport
    python -m benchmarks.profile_hot_path --url http://127.0.0.1:PORT --transport aiohttp

Without ``--url`` every call goes through an in-process ``httpx.MockTransport`` that
hands back a prebuilt answer, so the profile shows the SDK and httpx's client layer
only; with ``--url`` (a running benchmark target, e.g. ``python -m
benchmarks.target_aiohttp``) it includes the transport. Prints pyinstrument's text
tree; ``--html FILE`` writes the interactive page too.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import httpx

from . import bodies, worker


def _mock_client() -> httpx.AsyncClient:
    payloads = bodies.build()
    routes = {path: payloads[name] for path, name in bodies.ROUTES.items()}
    headers = [(b"content-type", b"application/json")]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, headers=headers, content=payloads["login"])
        return httpx.Response(200, headers=headers, content=routes[request.url.path])

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def _run(args: argparse.Namespace) -> Any:
    from pyinstrument import Profiler

    import cme_async

    if args.url:
        base = args.url
        http = (
            cme_async.aiohttp_http_client()
            if args.transport == "aiohttp"
            else cme_async.default_http_client()
        )
    else:
        base = "http://bench.invalid"
        http = _mock_client()
    signer = cme_async.LocalSigner("AKIDbenchmark", "benchmark-secret-key-0123456789", "1")
    async with cme_async.AsyncCmeClient(
        signer, worker.USER, api_url=base, login_url=base, http_client=http
    ) as client:
        if args.body == "small":

            async def call() -> Any:
                return await client.material.delete_material(material_id="38192156030633420589")

        else:

            async def call() -> Any:
                return await client.material.search_material(
                    search_scopes=worker.SEARCH_SCOPES, text="脱口秀"
                )

        async def loop(n: int) -> None:
            for _ in range(n):
                await call()

        await loop(200)  # login, connections, caches
        profiler = Profiler(interval=0.0002, async_mode="enabled")
        profiler.start()
        per_task = max(1, args.calls // args.concurrency)
        await asyncio.gather(*(loop(per_task) for _ in range(args.concurrency)))
        profiler.stop()
    await http.aclose()
    return profiler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_hot_path")
    parser.add_argument("--url", help="a running target; default: in-process MockTransport")
    parser.add_argument("--transport", choices=["httpx", "aiohttp"], default="aiohttp")
    parser.add_argument("--body", choices=["small", "large"], default="small")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)
    profiler = asyncio.run(_run(args))
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
