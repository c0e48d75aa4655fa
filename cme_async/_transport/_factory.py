"""Choose and build the transport for a client: ``make_transport``."""

from __future__ import annotations

import ssl
from typing import Literal

import httpx

from .._constants import (
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_KEEPALIVE_CONNECTIONS,
)
from ._base import Transport
from ._httpx import HttpxTransport, build_httpx_client

__all__ = ["TransportKind", "aiohttp_pool_of", "make_transport"]

TransportKind = Literal["httpx", "aiohttp"]


def aiohttp_pool_of(client: httpx.AsyncClient) -> object | None:
    """The SDK's ``AiohttpTransport`` inside a client from ``aiohttp_http_client()``, if any.

    Read from ``client._transport`` (httpx has no public accessor for a client's
    transport; tests/transport/test_private_guards.py fails if that changes). The class
    is looked up in ``sys.modules`` so that this never imports aiohttp.
    """
    import sys

    module = sys.modules.get("cme_async._aiohttp")
    transport = getattr(client, "_transport", None)
    if module is None or transport is None:
        return None
    return transport if isinstance(transport, module.AiohttpTransport) else None


def make_transport(
    http_client: httpx.AsyncClient | None = None,
    kind: TransportKind | Transport | None = None,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_keepalive_connections: int = DEFAULT_MAX_KEEPALIVE_CONNECTIONS,
    keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
    verify: ssl.SSLContext | bool = True,
) -> tuple[Transport, bool]:
    """The transport for a client, and whether the SDK built its connection pool.

    ============================  ==================  ================================
    ``http_client``               ``kind``            road
    ============================  ==================  ================================
    None                          None / ``"httpx"``  httpx, on a pool the SDK builds
    None                          ``"aiohttp"``       native aiohttp, own session
    from ``aiohttp_http_client``  None / ``"aiohttp"``  native aiohttp on its session
    from ``aiohttp_http_client``  ``"httpx"``         httpx over it (respx can mock it)
    any other client              None / ``"httpx"``  httpx on that client
    any                           a ``Transport``     that transport, as given
    ============================  ==================  ================================

    Always call ``await transport.aclose()`` when the client closes: it ends exchanges
    in flight and closes the pool only if the SDK built it (the second value).

    Raises:
        ValueError: ``kind="aiohttp"`` with an ``http_client`` that is not from
            ``aiohttp_http_client()``, or an unknown ``kind``.
        ImportError: ``kind="aiohttp"`` without aiohttp installed.
    """
    if kind is not None and not isinstance(kind, str):
        if http_client is not None:
            raise ValueError("pass either http_client or a Transport object, not both")
        return kind, False
    if kind not in (None, "httpx", "aiohttp"):
        raise ValueError(f'transport must be "httpx", "aiohttp" or a Transport, got {kind!r}')
    if http_client is not None:
        pool = aiohttp_pool_of(http_client)
        if kind == "httpx" or (kind is None and pool is None):
            return HttpxTransport(http_client, owned=False), False
        if pool is None:
            raise ValueError(
                'transport="aiohttp" needs http_client=None (the SDK builds the session) or '
                "a client from cme_async.aiohttp_http_client(); got another httpx client"
            )
        from ._aiohttp import NativeAiohttpTransport

        return NativeAiohttpTransport(pool, owned=False), False  # type: ignore[arg-type]
    if kind == "aiohttp":
        from .._aiohttp import AiohttpTransport
        from ._aiohttp import NativeAiohttpTransport

        own = AiohttpTransport(
            max_connections=max_connections, keepalive_expiry=keepalive_expiry, verify=verify
        )
        return NativeAiohttpTransport(own, owned=True), True
    client = build_httpx_client(
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
        keepalive_expiry=keepalive_expiry,
        verify=verify,
    )
    return HttpxTransport(client, owned=True), True
