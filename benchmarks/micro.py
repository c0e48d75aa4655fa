"""In-process measurements that need no server (run in a fresh process by ``run.py``).

* ``parsing``: ``json.loads`` of the 50-item SearchMaterial answer (and ``orjson.loads``,
  which the SDK uses when installed), the SDK's envelope parse + typed structuring of the
  same bytes, and the structuring step alone.
* ``overhead``: CPU per call of the SDK beyond raw httpx when the transport costs
  (almost) nothing: both sides post through the same ``httpx.MockTransport`` that hands
  back a prebuilt answer, one call at a time, so what differs is the SDK's own work
  (ticket lookup, body encoding, URL, envelope, typed result, bookkeeping).

    python -m benchmarks.micro [--quick]     # prints one JSON object
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
import timeit
from typing import Any

import httpx

from . import bodies, contenders


def parsing(number: int, repeat: int) -> dict[str, Any]:
    """json.loads vs the SDK's typed parse of the same 50-item answer.

    Measured twice: with the garbage collector on (as a program runs; the typed models
    keep ~1,300 container objects alive per answer, which triggers collections) and
    off (``timeit``'s default, the pure CPU cost). The target uses the GC-on numbers.
    """
    from cme_async._converter import structure_hook
    from cme_async._envelope import parse_action_response
    from cme_async._generated.material import SearchMaterialResponse

    _s_SearchMaterialResponse = structure_hook(SearchMaterialResponse)

    body = bodies.build()["large"]
    data = json.loads(body)["Data"]
    try:
        from orjson import loads as fast_loads
    except ImportError:
        fast_loads = None

    def typed_full() -> Any:
        payload = parse_action_response(200, {}, body, "Material/SearchMaterial")
        return _s_SearchMaterialResponse(payload)

    def best(fn: Any, gc_on: bool) -> float:
        setup = "gc.enable()" if gc_on else "pass"
        times = timeit.repeat(fn, setup=setup, number=number, repeat=repeat, globals={"gc": gc})
        return min(times) / number

    result = typed_full()
    assert len(result.material_info_set) == bodies.SEARCH_ITEMS
    out: dict[str, Any] = {"body_bytes": len(body), "items": bodies.SEARCH_ITEMS}
    for gc_on, suffix in ((True, ""), (False, "_gc_off")):
        gc.collect()
        loads = best(lambda: json.loads(body), gc_on)
        if fast_loads is not None:  # what the SDK decodes with (the `speedups` extra)
            out[f"orjson_loads_us{suffix}"] = best(lambda: fast_loads(body), gc_on) * 1e6
        full = best(typed_full, gc_on)
        structure = best(lambda: _s_SearchMaterialResponse(data), gc_on)
        out[f"json_loads_us{suffix}"] = loads * 1e6
        out[f"typed_parse_us{suffix}"] = full * 1e6
        out[f"structure_only_us{suffix}"] = structure * 1e6
        out[f"typed_parse_over_json_loads{suffix}"] = full / loads
        out[f"structure_only_over_json_loads{suffix}"] = structure / loads
    before = [g["collections"] for g in gc.get_stats()]
    for _ in range(number):
        typed_full()
    after = [g["collections"] for g in gc.get_stats()]
    out["gc_collections_per_typed_parse"] = [
        (a - b) / number for a, b in zip(after, before, strict=True)
    ]
    return out


async def _per_call(call: Any, calls: int) -> float:
    for _ in range(min(100, calls)):
        await call()
    start = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - start) / calls


class _CancelSafeMock(httpx.MockTransport):
    """A mock transport that declares itself cancel-safe, like cme_async's aiohttp transport."""

    cancel_safe = True


async def overhead(calls: int, rounds: int) -> dict[str, Any]:
    """``calls`` small-answer calls per round (a tenth of that for the large answer).

    The SDK runs twice: over a plain mock transport (the default httpx road, where the
    SDK shields each exchange from cancellation) and over one declaring ``cancel_safe``
    (the road the aiohttp transport takes).
    """
    import cme_async

    payloads = bodies.build()
    routes = {path: payloads[name] for path, name in bodies.ROUTES.items()}
    json_headers = [(b"content-type", b"application/json")]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, headers=json_headers, content=payloads["login"])
        return httpx.Response(200, headers=json_headers, content=routes[request.url.path])

    base = "http://bench.invalid"
    raw = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    sdk_http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    signer = cme_async.LocalSigner("AKIDbenchmark", "benchmark-secret-key-0123456789", "1")
    sdk = cme_async.AsyncCmeClient(
        signer, contenders.USER, api_url=base, login_url=base, http_client=sdk_http
    )
    safe_http = httpx.AsyncClient(transport=_CancelSafeMock(handler))
    safe = cme_async.AsyncCmeClient(
        signer, contenders.USER, api_url=base, login_url=base, http_client=safe_http
    )
    out: dict[str, Any] = {"calls": calls, "rounds": rounds}
    async with sdk, safe:
        for body in ("small", "large"):
            url = f"{base}{contenders.PATHS[body]}?auth=tf_bench"
            content = contenders.REQUEST_BODIES[body]

            async def raw_call(url: str = url, content: bytes = content) -> Any:
                response = await raw.post(url, content=content, headers=contenders.HEADERS)
                return json.loads(response.content)

            def typed(client: Any, body: str = body) -> Any:
                if body == "small":

                    async def one_call() -> Any:
                        return await client.material.delete_material(
                            material_id="38192156030633420589"
                        )

                else:

                    async def one_call() -> Any:
                        return await client.material.search_material(
                            search_scopes=contenders.SEARCH_SCOPES, text="脱口秀"
                        )

                return one_call

            sdk_call, safe_call = typed(sdk), typed(safe)

            async def sdk_raw_call(body: str = body, content: bytes = content) -> Any:
                action = "DeleteMaterial" if body == "small" else "SearchMaterial"
                return await sdk.call("Material", action, json.loads(content))

            n = calls if body == "small" else max(10, calls // 10)
            raw_times, sdk_times, untyped_times, safe_times = [], [], [], []
            for _ in range(rounds):  # interleaved, best of rounds
                raw_times.append(await _per_call(raw_call, n))
                sdk_times.append(await _per_call(sdk_call, n))
                untyped_times.append(await _per_call(sdk_raw_call, n))
                safe_times.append(await _per_call(safe_call, n))
            raw_us, sdk_us, untyped_us, safe_us = (
                min(t) * 1e6 for t in (raw_times, sdk_times, untyped_times, safe_times)
            )
            out[body] = {
                "raw_httpx_us": raw_us,
                "sdk_typed_us": sdk_us,
                "sdk_call_us": untyped_us,
                "sdk_typed_cancel_safe_us": safe_us,
                "sdk_overhead_us": sdk_us - raw_us,
                "sdk_call_overhead_us": untyped_us - raw_us,
                "sdk_cancel_safe_overhead_us": safe_us - raw_us,
            }
    await raw.aclose()
    await sdk_http.aclose()
    await safe_http.aclose()
    return out


async def vendor_overhead(calls: int, rounds: int) -> dict[str, Any] | None:
    """Client CPU per DescribeMaterials call, the SDK vs tencentcloud-sdk-python's async client,
    both over an ``httpx.MockTransport`` answering the same 10 items (no network)."""
    try:
        from tencentcloud.cme.v20191029 import cme_client_async, models
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
    except ImportError:
        return None
    import cme_async

    payloads = bodies.build()
    json_headers = [(b"content-type", b"application/json")]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, headers=json_headers, content=payloads["login"])
        name = "vendor" if request.url.path == "/" else "describe"
        return httpx.Response(200, headers=json_headers, content=payloads[name])

    profile = ClientProfile(
        httpProfile=HttpProfile(endpoint="bench.local", protocol="http", keepAlive=True)
    )
    vendor = cme_client_async.CmeClient(
        credential.Credential("AKIDbenchmark", "benchmark-secret-key"), "", profile
    )
    await vendor.http_client.aclose()
    vendor.http_client = httpx.AsyncClient(transport=httpx.MockTransport(handler))

    async def vendor_call() -> Any:
        request = models.DescribeMaterialsRequest()
        request.Platform = "1"
        request.MaterialIds = contenders.MATERIAL_IDS
        return await vendor.DescribeMaterials(request)

    sdk_http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    signer = cme_async.LocalSigner("AKIDbenchmark", "benchmark-secret-key-0123456789", "1")
    sdk = cme_async.AsyncCmeClient(
        signer,
        contenders.USER,
        api_url="http://bench.invalid",
        login_url="http://bench.invalid",
        http_client=sdk_http,
    )

    async def sdk_call() -> Any:
        return await sdk.material.describe_materials(material_ids=contenders.MATERIAL_IDS)

    vendor_times, sdk_times = [], []
    async with sdk:
        for _ in range(rounds):
            vendor_times.append(await _per_call(vendor_call, calls))
            sdk_times.append(await _per_call(sdk_call, calls))
    await vendor.close()
    await sdk_http.aclose()
    vendor_us, sdk_us = min(vendor_times) * 1e6, min(sdk_times) * 1e6
    return {"vendor_us": vendor_us, "sdk_us": sdk_us, "vendor_over_sdk": vendor_us / sdk_us}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    result = {
        "parsing": parsing(number=3 if quick else 100, repeat=1 if quick else 7),
        "overhead": asyncio.run(overhead(calls=20 if quick else 1500, rounds=1 if quick else 5)),
        "vendor": None if quick else asyncio.run(vendor_overhead(calls=400, rounds=5)),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
