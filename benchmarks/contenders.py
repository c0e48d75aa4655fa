"""The contenders of ``make bench``: what one call of each does (see benchmarks/README.md).

``Contender(name, base)`` builds, per answer body, an async function making one call:
raw httpx / aiohttp clients (``json.loads`` + ``check``), the SDK on either road, the
vendor SDK, the SDK's native transport alone, and the ``+gc.freeze`` / ``+gc.pause``
variants. ``benchmarks/worker.py`` drives them.
"""

from __future__ import annotations

import contextlib
import gc
import json
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

    def parse_gc_paused(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return parse(*args, **kwargs)
        gc.disable()
        try:
            return parse(*args, **kwargs)
        finally:
            gc.enable()

    parse_gc_paused.gc_paused = True  # type: ignore[attr-defined]
    _converter.parse = parse_gc_paused


def check(answer: Any) -> Any:
    """What a raw caller does at least: the envelope says ``Code: Success``, else raise."""
    if answer["Code"] != "Success":
        raise RuntimeError(f"CME error {answer['Code']}")
    return answer


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
