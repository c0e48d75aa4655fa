"""Guards on the private or version-specific behaviour the transports rely on.

Each test names what breaks if it fails. httpx offers no public way to (a) choose the
class of a client's cookie jar (its constructor and ``cookies`` setter copy into a plain
``httpx.Cookies``) or (b) read the transport a client sends on; aiobotocore guards the
private attributes of its own dependencies the same way.
"""

from __future__ import annotations

import inspect

import httpx

import cme_async
from cme_async._cookies import SkipEmptyCookies
from cme_async._transport import aiohttp_pool_of
from cme_async._transport._httpx import _is_phase_aware


async def test_httpx_client_keeps_its_cookie_jar_in_the_private_cookies_attribute() -> None:
    # SkipEmptyCookies (a quarter of httpx's client CPU saved) is installed by assigning
    # client._cookies; httpx must still read the jar from there for every answer.
    calls: list[str] = []

    class Counting(SkipEmptyCookies):
        def extract_cookies(self, response: httpx.Response) -> None:
            calls.append(response.headers.get("set-cookie", ""))
            super().extract_cookies(response)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cookie":
            return httpx.Response(200, headers={"Set-Cookie": "session=s1"})
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    assert isinstance(client._cookies, httpx.Cookies)
    client._cookies = Counting()
    assert client.cookies is client._cookies
    await client.get("https://x.test/a")
    assert dict(client.cookies) == {}  # nothing parsed, nothing stored
    await client.get("https://x.test/cookie")
    assert calls == ["", "session=s1"]
    assert dict(client.cookies) == {"session": "s1"}  # a real cookie is still kept
    await client.aclose()


def test_httpx_client_keeps_its_transports_in_private_attributes() -> None:
    # make_transport finds aiohttp_http_client()'s session through client._transport,
    # and HttpxTransport decides whether httpcore carries every request (it then knows
    # when a request was written) from client._transport and client._mounts.
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    client = httpx.AsyncClient(transport=mock)
    assert client._transport is mock
    assert isinstance(client._mounts, dict)
    assert _is_phase_aware(client) is False
    assert _is_phase_aware(httpx.AsyncClient()) is True
    aio = cme_async.aiohttp_http_client()
    assert aiohttp_pool_of(aio) is aio._transport
    assert aiohttp_pool_of(client) is None


def test_httpx_byte_stream_is_both_sync_and_async() -> None:
    # The httpx road's request body (_Body) subclasses httpx.ByteStream: httpcore reads it
    # asynchronously, respx and user code may read it synchronously.
    assert issubclass(httpx.ByteStream, httpx.AsyncByteStream)
    assert issubclass(httpx.ByteStream, httpx.SyncByteStream)


def test_aiohttp_offers_what_the_native_road_uses() -> None:
    import aiohttp

    # Per-request decompression (the session is shared with the httpx-over-aiohttp road,
    # which leaves decoding to httpx).
    assert "auto_decompress" in inspect.signature(aiohttp.ClientSession._request).parameters
    # Timeouts not rounded up to whole seconds, so "connect" fires before "total".
    assert "ceil_threshold" in {f.name for f in aiohttp.ClientTimeout.__attrs_attrs__}
    assert "timeout_ceil_threshold" in inspect.signature(aiohttp.TCPConnector).parameters
    # A pool wait or connect timeout is its own class (the "not sent" verdict).
    assert issubclass(aiohttp.ConnectionTimeoutError, aiohttp.ServerTimeoutError)
