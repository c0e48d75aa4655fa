"""One benchmark contender in its own process, driven by JSON lines on stdin.

    python -m benchmarks.worker <contender> <base_url>

Commands (one JSON object per line, one JSON answer per line):

* ``{"op": "run", "body": "small", "concurrency": 100, "duration": 1.0, "warmup": 0.3}``:
  a closed loop of ``concurrency`` tasks calling the contender's request for ``body``;
  after a warm-up (at least ``warmup`` seconds and until every task has finished one
  call) it counts, for ``duration`` seconds, completed calls, their latencies and the
  process CPU time. Answer: ``calls``, ``elapsed``, ``cpu``, ``p50_ms``, ``p99_ms``,
  ``errors``.
* ``{"op": "login_storm", "concurrency": 1000}``: a fresh SDK client, ``concurrency``
  concurrent first calls; answer: ``logins``, ``seconds`` (to the last answer), ``errors``.
* ``{"op": "in_flight", "calls": 10000, "window": 5}``: ``calls`` concurrent small calls
  on a warm client (SDK or raw); answer: RSS before and the peak while they are in flight.
* ``{"op": "info"}``: where ``cme_async`` was imported from (the baseline check).
* ``{"op": "reset"}``: close the clients; the next command builds new ones.
* ``{"op": "quit"}``.

The clients live until the next ``reset`` (the harness resets before every answer
size × concurrency group), so the pools stay warm across the rounds of a group, as
they would in a batch job, while no group inherits a pool shaped by another (after
1,000 concurrent calls httpx's pool starves some requests for seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cme_async._constants import (
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_KEEPALIVE_CONNECTIONS,
)

from . import bodies

CallFn = Callable[[], Awaitable[Any]]

PLATFORM = "1"
USER = "bench_user"
HEADERS = {"Content-Type": "application/json"}
MATERIAL_IDS = [f"{38192156030633420589 + i}" for i in range(bodies.DESCRIBE_ITEMS)]
SEARCH_SCOPES = [{"Platform": PLATFORM, "Owner": {"Type": "PERSON", "Id": USER}}]
# The exact request bodies the SDK sends for the three actions (raw clients send the same).
REQUEST_BODIES = {
    "small": json.dumps({"MaterialId": "38192156030633420589"}, separators=(",", ":")).encode(),
    "large": json.dumps(
        {"SearchScopes": SEARCH_SCOPES, "Text": "脱口秀"}, ensure_ascii=False, separators=(",", ":")
    ).encode(),
    "describe": json.dumps({"MaterialIds": MATERIAL_IDS}, separators=(",", ":")).encode(),
}
PATHS = {name: path for path, name in bodies.ROUTES.items()}
# Connections per client: the SDK's default pool size, the same for every contender.
POOL = DEFAULT_MAX_CONNECTIONS


def pause_gc_while_structuring() -> None:
    """Patch ``cme_async._converter.parse`` to run with the garbage collector paused.

    Structuring a typed answer allocates thousands of containers in one synchronous
    step; with the collector on, they trigger young collections mid-parse that promote
    the half-built answer, and then full collections over the whole heap. This measures
    what pausing the collector for that step would save (benchmarks/README.md).
    """
    from cme_async import _converter

    parse = _converter.parse
    if getattr(parse, "gc_paused", False):
        return

    def parse_gc_paused(cl: Any, data: Any, action: str) -> Any:
        if not gc.isenabled():
            return parse(cl, data, action)
        gc.disable()
        try:
            return parse(cl, data, action)
        finally:
            gc.enable()

    parse_gc_paused.gc_paused = True  # type: ignore[attr-defined]
    _converter.parse = parse_gc_paused


def check(answer: Any) -> Any:
    """What a raw caller does at least: the envelope says ``Code: Success``, else raise."""
    if answer["Code"] != "Success":
        raise RuntimeError(f"CME error {answer['Code']}")
    return answer


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class Contender:
    """Builds the per-body call functions of one contender; ``aclose`` frees the pool."""

    def __init__(self, name: str, base: str) -> None:
        # "<contender>+gc.freeze": the same client, with every object alive after its
        # first call moved out of the collector's reach (gc.freeze()), as a long-running
        # batch worker can do once after start-up: shows what the garbage collector costs.
        # "<contender>+gc.pause": a what-if, not the SDK as shipped: the typed structuring
        # step (cme_async._converter.parse) runs with the collector paused (see
        # pause_gc_while_structuring).
        self.name, _, option = name.partition("+gc.")
        self.freeze = option == "freeze"
        if option == "pause":
            pause_gc_while_structuring()
        self.base = base.rstrip("/")
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        self._calls: dict[str, CallFn] = {}
        self.sdk: Any = None

    def url(self, body: str) -> str:
        return f"{self.base}{PATHS[body]}?auth=tf_bench"

    async def call_for(self, body: str) -> CallFn:
        found = self._calls.get(body)
        if found is None:
            found = self._calls[body] = await self._build(body)
            if self.freeze:
                await found()  # login, connection, lazy imports
                gc.collect()
                gc.freeze()
        return found

    async def _build(self, body: str) -> CallFn:
        name = self.name
        if name.startswith("sdk-"):
            return await self._build_sdk(body)
        if name == "vendor":
            return await self._build_vendor(body)
        if name == "seam-aiohttp":
            return await self._build_seam(body)
        url = self.url(body)
        content = REQUEST_BODIES[body]
        loads = json.loads
        if name == "aiohttp":
            import aiohttp

            session = getattr(self, "_session", None)
            if session is None:
                session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=POOL, limit_per_host=0)
                )
                self._session = session
                self._closers.append(session.close)

            async def aiohttp_call() -> Any:
                async with session.post(url, data=content, headers=HEADERS) as response:
                    return check(loads(await response.read()))

            return aiohttp_call
        client = getattr(self, "_httpx", None)
        if client is None:
            client = self._httpx = self._httpx_client()
            self._closers.append(client.aclose)
        post = client.post

        async def httpx_call() -> Any:
            response = await post(url, content=content, headers=HEADERS)
            return check(loads(response.content))

        return httpx_call

    def _httpx_client(self) -> httpx.AsyncClient:
        # The same pool as the SDK's default_http_client().
        limits = httpx.Limits(
            max_connections=POOL,
            max_keepalive_connections=DEFAULT_MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=DEFAULT_KEEPALIVE_EXPIRY,
        )
        if self.name == "httpx":
            return httpx.AsyncClient(limits=limits, timeout=60)
        if self.name == "httpx+httpx-aiohttp":
            import httpx_aiohttp

            return httpx.AsyncClient(
                transport=httpx_aiohttp.AiohttpTransport(limits=limits), timeout=60
            )
        if self.name == "httpx+cme-aiohttp":
            import cme_async

            return cme_async.aiohttp_http_client(max_connections=POOL, timeout=60)
        raise ValueError(f"unknown contender {self.name!r}")

    def _sdk_client(self, **kwargs: Any) -> Any:
        import cme_async

        signer = cme_async.LocalSigner("AKIDbenchmark", "benchmark-secret-key-0123456789", PLATFORM)
        if self.name == "sdk-aiohttp":  # the native road; its own pool of POOL connections
            kwargs["transport"] = "aiohttp"
        # "sdk-httpx-base" is "sdk-httpx" run on the baseline tree (run.py puts it first on
        # sys.path): the same default-road client, older code.
        client = cme_async.AsyncCmeClient(
            signer, USER, api_url=self.base, login_url=self.base, timeout=60, **kwargs
        )
        self._closers.append(client.aclose)
        return client

    async def _build_sdk(self, body: str) -> CallFn:
        if self.sdk is None:
            self.sdk = self._sdk_client()
        material = self.sdk.material
        if body == "small":
            delete = material.delete_material

            async def sdk_small() -> Any:
                return await delete(material_id="38192156030633420589")

            return sdk_small
        if body == "large":
            search = material.search_material

            async def sdk_large() -> Any:
                return await search(search_scopes=SEARCH_SCOPES, text="脱口秀")

            return sdk_large
        if body == "describe":
            describe = material.describe_materials

            async def sdk_describe() -> Any:
                return await describe(material_ids=MATERIAL_IDS)

            return sdk_describe
        raise ValueError(body)

    async def _build_seam(self, body: str) -> CallFn:
        """The SDK's native transport alone (``Transport.send`` + ``json.loads`` + ``Code``):
        separates the transport's cost from the rest of the SDK's road."""
        from cme_async._transport import make_transport

        transport, _ = make_transport(None, "aiohttp")
        self._closers.append(transport.aclose)
        url, secret = f"{self.base}{PATHS[body]}", ("auth", "tf_bench")
        content, send, loads = REQUEST_BODIES[body], transport.send, json.loads

        async def seam_call() -> Any:
            answer = await send(
                "POST", url, secret, content=content, timeout=60.0, max_bytes=10_000_000
            )
            return check(loads(answer.content))

        return seam_call

    async def _build_vendor(self, body: str) -> CallFn:
        if body != "describe":
            raise ValueError("the vendor SDK only runs the DescribeMaterials comparison")
        from tencentcloud.cme.v20191029 import cme_client_async, models
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        host = self.base.split("://", 1)[1]
        # keepAlive=True is the vendor's best case (its default opens a connection per call).
        profile = ClientProfile(
            httpProfile=HttpProfile(endpoint=host, protocol="http", keepAlive=True)
        )
        client = cme_client_async.CmeClient(
            credential.Credential("AKIDbenchmark", "benchmark-secret-key"), "", profile
        )
        self._closers.append(client.close)

        async def vendor_describe() -> Any:
            request = models.DescribeMaterialsRequest()
            request.Platform = PLATFORM
            request.MaterialIds = MATERIAL_IDS
            return await client.DescribeMaterials(request)

        return vendor_describe

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):  # best effort at exit
                await close()


async def run_cell(
    call: CallFn,
    concurrency: int,
    duration: float,
    warmup: float,
    max_warmup: float = 8.0,
    max_drain: float = 3.0,
) -> dict[str, Any]:
    """Closed loop at ``concurrency``; counts only calls that end inside the timed window.

    Warm-up: at least ``warmup`` seconds and until every task has finished one call (at
    most ``max_warmup``). At the end the tasks stop starting calls and the calls in
    flight are awaited for up to ``max_drain`` seconds; only the rest are cancelled, and
    the answer says so (``cancelled``): cancelling httpx requests can leave its pool
    broken (httpcore's cancellation bugs), so the worker then rebuilds its clients.
    """
    state = {"measuring": False, "stop": False}
    latencies: list[float] = []
    errors: list[str] = []
    error_count = 0
    warmed = 0
    all_warm = asyncio.Event()
    perf = time.perf_counter

    async def loop() -> None:
        nonlocal warmed, error_count
        first = True
        while not state["stop"]:
            started = perf()
            try:
                await call()
            except Exception as exc:
                error_count += 1
                if len(errors) < 3:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                await asyncio.sleep(0.001)
                continue
            if state["measuring"]:
                latencies.append(perf() - started)
            if first:
                first = False
                warmed += 1
                if warmed == concurrency:
                    all_warm.set()

    # Time spent in the garbage collector inside the window (gc.callbacks: start/stop of
    # every collection), by generation: typed answers allocate thousands of containers.
    gc_seconds = 0.0
    gc_runs = [0, 0, 0]
    gc_started = 0.0

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        nonlocal gc_seconds, gc_started
        if phase == "start":
            gc_started = perf()
        elif state["measuring"]:
            gc_seconds += perf() - gc_started
            gc_runs[info["generation"]] += 1

    gc.collect()
    gc.callbacks.append(on_gc)
    tasks = [asyncio.create_task(loop()) for _ in range(concurrency)]
    warm_start = perf()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_warm.wait(), timeout=max_warmup)
    rest = warmup - (perf() - warm_start)
    if rest > 0:
        await asyncio.sleep(rest)
    cpu0 = time.process_time()
    t0 = perf()
    state["measuring"] = True
    await asyncio.sleep(duration)
    state["measuring"] = False
    elapsed = perf() - t0
    cpu = time.process_time() - cpu0
    gc.callbacks.remove(on_gc)
    calls = len(latencies)
    state["stop"] = True
    drain_start = perf()
    _done, pending = await asyncio.wait(tasks, timeout=max_drain)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=10)
    latencies.sort()
    return {
        "calls": calls,
        "elapsed": elapsed,
        "cpu": cpu,
        "calls_per_s": calls / elapsed if elapsed else 0.0,
        "cpu_us_per_call": cpu / calls * 1e6 if calls else None,
        "gc_us_per_call": gc_seconds / calls * 1e6 if calls else None,
        "gc_collections": gc_runs,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "warmup_s": t0 - warm_start,
        "warmed_tasks": warmed,
        "drain_s": perf() - drain_start,
        "cancelled": len(pending),
        "errors": error_count,
        "error_sample": errors,
    }


async def login_storm(contender: Contender, concurrency: int) -> dict[str, Any]:
    logins: list[Any] = []

    async def on_login(event: Any) -> None:
        logins.append(event)

    client = contender._sdk_client(on_login=on_login)
    delete = client.material.delete_material
    started = time.perf_counter()
    results = await asyncio.gather(
        *(delete(material_id=str(i)) for i in range(concurrency)), return_exceptions=True
    )
    seconds = time.perf_counter() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    return {
        "concurrency": concurrency,
        "logins": client.tokens.login_count,
        "login_events": len(logins),
        "seconds": seconds,
        "errors": len(errors),
        "error_sample": [repr(e)[:200] for e in errors[:3]],
    }


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def in_flight(contender: Contender, calls: int, window: float) -> dict[str, Any]:
    """Start ``calls`` calls at once; the peak RSS while they are in flight.

    RSS is sampled every 20 ms for at most ``window`` seconds (or until every call has
    ended). Calls still running then are cancelled: the process is fresh and exits
    afterwards, and the peak is reached right after the calls start.
    """
    call = await contender.call_for("small")
    await call()  # login and one connection, outside the measurement
    gc.collect()
    before = _rss_kb()
    peak = before
    started = time.perf_counter()
    tasks = [asyncio.ensure_future(call()) for _ in range(calls)]
    gathered = asyncio.gather(*tasks, return_exceptions=True)
    while not gathered.done() and time.perf_counter() - started < window:
        await asyncio.wait([gathered], timeout=0.02)
        peak = max(peak, _rss_kb())
    seconds = time.perf_counter() - started
    finished = sum(1 for t in tasks if t.done() and not t.cancelled() and t.exception() is None)
    failed = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(gathered, return_exceptions=True)
    return {
        "calls": calls,
        "window_s": window,
        "rss_before_mb": before / 1024,
        "peak_rss_mb": peak / 1024,
        "peak_minus_before_mb": (peak - before) / 1024,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "finished_in_window": finished,
        "seconds": seconds,
        "errors": len(failed),
        "error_sample": [repr(e)[:200] for e in failed[:3]],
    }


async def serve(name: str, base: str) -> None:
    contender = Contender(name, base)
    loop = asyncio.get_running_loop()
    out = sys.stdout
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            command = json.loads(line)
            op = command["op"]
            try:
                if op == "quit":
                    answer: dict[str, Any] = {"ok": True}
                elif op == "info":
                    import cme_async

                    answer = {"cme_async": cme_async.__file__}
                elif op == "reset":
                    await contender.aclose()
                    contender = Contender(name, base)
                    gc.collect()
                    answer = {"ok": True}
                elif op == "run":
                    call = await contender.call_for(command["body"])
                    answer = await run_cell(
                        call,
                        command["concurrency"],
                        command["duration"],
                        command["warmup"],
                        command.get("max_warmup", 3.0),
                    )
                    if answer["cancelled"]:  # a pool that saw cancellations is not reused
                        await contender.aclose()
                        contender = Contender(name, base)
                elif op == "login_storm":
                    answer = await login_storm(contender, command["concurrency"])
                elif op == "in_flight":
                    answer = await in_flight(contender, command["calls"], command["window"])
                else:
                    answer = {"error": f"unknown op {op!r}"}
            except Exception as exc:  # report, keep serving
                answer = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            out.write(json.dumps(answer) + "\n")
            out.flush()
            if op == "quit":
                break
    finally:
        await contender.aclose()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    asyncio.run(serve(args[0], args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
