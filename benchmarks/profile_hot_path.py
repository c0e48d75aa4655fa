"""Profile the SDK's call road with pyinstrument (``pip install cme-async[bench]``).

    python -m benchmarks.profile_hot_path                 # SDK over httpx.MockTransport
    python -m benchmarks.profile_hot_path --url http://127.0.0.1:PORT --transport aiohttp
    python -m benchmarks.profile_hot_path --nginx --transport aiohttp --body large \
        --concurrency 100 --calls 3000         # against make bench's nginx target

Without ``--url`` or ``--nginx`` every call goes through an in-process
``httpx.MockTransport`` that hands back a prebuilt answer, so the profile shows the SDK
and httpx's client layer only; with ``--url`` (a running benchmark target, e.g.
``python -m benchmarks.target_aiohttp``) or ``--nginx`` (started here, as ``make bench``
does) it includes the transport. ``--transport aiohttp`` is the native road
(``transport="aiohttp"``); ``--transport raw-aiohttp`` profiles raw aiohttp
(``json.loads`` + ``Code``) for comparison. Prints pyinstrument's text tree (``--out
FILE`` writes it there; ``--html FILE`` writes the interactive page too).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import httpx

from . import bodies, contenders


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
    import cme_async

    if args.url:
        base = args.url
        http = None
        transport = "aiohttp" if args.transport == "aiohttp" else None
    else:
        base = "http://bench.invalid"
        http = _mock_client()
        transport = None
    if args.transport == "raw-aiohttp":
        if not args.url:
            raise SystemExit("--transport raw-aiohttp needs --url or --nginx")
        contender = contenders.Contender("aiohttp", base)
        call = await contender.call_for(args.body)
        try:
            return await _profile(call, args)
        finally:
            await contender.aclose()
    signer = cme_async.LocalSigner("AKIDbenchmark", "benchmark-secret-key-0123456789", "1")
    options: dict[str, Any] = {"transport": transport} if transport else {}
    async with cme_async.AsyncCmeClient(
        signer, contenders.USER, api_url=base, login_url=base, http_client=http, **options
    ) as client:
        if args.body == "small":

            async def call() -> Any:
                return await client.material.delete_material(material_id="38192156030633420589")

        else:

            async def call() -> Any:
                return await client.material.search_material(
                    search_scopes=contenders.SEARCH_SCOPES, text="脱口秀"
                )

        profiler = await _profile(call, args)
    if http is not None:
        await http.aclose()
    return profiler


async def _profile(call: Any, args: argparse.Namespace) -> Any:
    from pyinstrument import Profiler

    async def loop(n: int) -> None:
        for _ in range(n):
            await call()

    await loop(200)  # login, connections, caches
    profiler = Profiler(interval=0.0002, async_mode="enabled")
    profiler.start()
    per_task = max(1, args.calls // args.concurrency)
    await asyncio.gather(*(loop(per_task) for _ in range(args.concurrency)))
    profiler.stop()
    return profiler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_hot_path")
    parser.add_argument("--url", help="a running target; default: in-process MockTransport")
    parser.add_argument("--nginx", action="store_true", help="start make bench's nginx target")
    parser.add_argument(
        "--transport", choices=["httpx", "aiohttp", "raw-aiohttp"], default="aiohttp"
    )
    parser.add_argument("--body", choices=["small", "large"], default="small")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    parser.add_argument("--out", help="write the text tree here instead of stdout")
    args = parser.parse_args(argv)
    if args.nginx:
        from . import target_nginx

        log: list[str] = []
        nginx = target_nginx.start(log)
        if nginx is None:
            raise SystemExit("nginx target unavailable: " + "; ".join(log))
        args.url = nginx.url
        try:
            profiler = asyncio.run(_run(args))
        finally:
            nginx.stop()
    else:
        profiler = asyncio.run(_run(args))
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text)
    else:
        print(text)
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
