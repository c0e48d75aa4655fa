"""The SDK's internal transport seam: one HTTP exchange, two roads.

``make_transport`` picks the road (httpx by default, native aiohttp on request or for a
client from ``aiohttp_http_client()``); ``Transport.send`` does one exchange and returns
an ``Answer``. See ``_base`` for the contract and what each error means.
"""

from __future__ import annotations

from ._base import READ_HEADERS, Answer, Method, OnSettled, Secret, Transport
from ._factory import TransportKind, aiohttp_pool_of, make_transport
from ._httpx import HttpxTransport, build_httpx_client

__all__ = [
    "READ_HEADERS",
    "Answer",
    "HttpxTransport",
    "Method",
    "OnSettled",
    "Secret",
    "Transport",
    "TransportKind",
    "aiohttp_pool_of",
    "build_httpx_client",
    "make_transport",
]
