"""aiohttp under the SDK (``pip install cme-async[aiohttp]``): the pool of the native road.

httpx's own connection pool (httpcore) costs a lot of CPU per request at high
concurrency (httpx issue 3215), and httpx's request and response objects cost more on
top. ``aiohttp_http_client()`` returns an ordinary ``httpx.AsyncClient`` whose requests
travel over one ``aiohttp.ClientSession``; handed to the SDK, it selects the *native*
aiohttp road (``cme_async._transport``), which sends straight on that session with no
httpx object per call::

    client = cme_async.AsyncCmeClient(
        signer, "batch_user", http_client=cme_async.aiohttp_http_client(max_connections=200)
    )

(``AsyncCmeClient(..., transport="aiohttp")`` does the same with a session the SDK
owns; ``transport="httpx"`` keeps the requests on httpx over this session, for respx.)

The session is created on first use inside the running event loop (aiohttp sessions
are loop-bound; another loop gets ``EventLoopMismatchError``). ``aiohttp`` is imported
only when this function is called, so ``import cme_async`` never pays for it.

aiohttp errors are mapped to the httpx exception that tells the retry policy the truth
about whether the request may have reached the server (``_transport._scrub``): only
failures to *connect* become ``httpx.ConnectError`` / ``httpx.ConnectTimeout`` ("not
sent", safe to replay for any action); a dropped or reset connection after that becomes
``httpx.RemoteProtocolError`` / ``httpx.ReadError`` / ``httpx.WriteError`` and a read
timeout ``httpx.ReadTimeout`` ("may have run"). (httpx-aiohttp's own mapping turns a
server disconnect into ``ConnectTimeout``, which would let a non-idempotent action be
replayed; this module does not use it.)
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from ._constants import (
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    USER_AGENT,
)
from ._cookies import SkipEmptyCookies
from ._errors import ClientClosedError, EventLoopMismatchError
from ._logging import RedactingFilter
from ._transport._scrub import LOOP_MISMATCH

if TYPE_CHECKING:  # pragma: no cover - typing only
    import aiohttp

__all__ = ["AiohttpTransport", "SkipEmptyCookies", "aiohttp_http_client"]

_INSTALL_HINT = (
    "the aiohttp transport needs the optional dependency aiohttp: pip install cme-async[aiohttp]"
)

# aiohttp loggers that could see a request URL (the ticket rides in the query string).
_AIOHTTP_LOGGERS = ("aiohttp", "aiohttp.client", "aiohttp.internal")
_REDACT = RedactingFilter()


def _require_aiohttp() -> Any:
    try:
        import aiohttp
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching sys.modules
        raise ImportError(_INSTALL_HINT) from exc
    return aiohttp


def _guard_aiohttp_loggers() -> None:
    for name in _AIOHTTP_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(_REDACT)


def _map_error(exc: BaseException) -> httpx.TransportError | None:
    """The httpx error that says what an aiohttp failure means, or None if it is not one.

    The mapping lives in ``_transport._scrub`` (one place for both aiohttp roads); the
    message has every known secret masked.
    """
    import aiohttp

    if not isinstance(exc, aiohttp.ClientError | TimeoutError):
        return None
    from ._transport._scrub import scrub_aiohttp

    mapped = scrub_aiohttp(exc, None)
    return mapped if isinstance(mapped, httpx.TransportError) else None


class _ResponseStream(httpx.AsyncByteStream):
    """The body of a streamed answer (``client.stream(...)``), chunk by chunk."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as exc:
            mapped = _map_error(exc)
            if mapped is None:
                raise
            raise mapped from None

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncBaseTransport`` over one ``aiohttp.ClientSession`` (created lazily).

    The session (and its connection pool) belongs to the event loop of the first
    request, like every aiohttp session: use one client per event loop.

    ``cancel_safe``: cancelling a request never strands its connection or its pool slot
    (aiohttp closes the connection and frees the slot), unlike httpcore (issues 658,
    1093); tests/test_aiohttp_transport.py checks it.
    """

    cancel_safe = True

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        _require_aiohttp()
        _guard_aiohttp_loggers()
        from yarl import URL

        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._ssl: ssl.SSLContext | bool = verify
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}
        self._closed = False
        self._url = URL

    @property
    def max_connections(self) -> int:
        return self._max_connections

    def session(self) -> aiohttp.ClientSession:
        """The session (and its pool), created on first use in the running event loop.

        Raises ``EventLoopMismatchError`` from another loop than the one it was made in,
        and ``ClientClosedError`` after ``aclose()``. The native road
        (``cme_async._transport``) sends over this same session.
        """
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None:
            if self._closed:
                raise ClientClosedError("the aiohttp transport is closed")
            session = self._session = self._new_session()
            self._loop = loop
        elif loop is not self._loop:
            closed = self._loop is not None and self._loop.is_closed()
            detail = " (the loop it was opened on is closed)" if closed else ""
            raise EventLoopMismatchError(LOOP_MISMATCH.format(detail=detail))
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_expiry,
            ssl=self._ssl,
            # Timeouts fire when asked, not rounded up to the next whole second: the
            # native road relies on its connect timeout firing before its total one.
            timeout_ceil_threshold=float(2**31),
        )
        return aiohttp.ClientSession(
            connector=connector,
            # httpx owns redirects, decompression, cookies and default headers.
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    def _client_timeout(self, timeout: dict[str, float | None]) -> aiohttp.ClientTimeout:
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        found = self._timeouts.get(key)
        if found is None:
            import aiohttp

            connect, read, pool = key
            # aiohttp's ``connect`` covers waiting for a pooled connection plus connecting.
            total_connect = None if connect is None or pool is None else connect + pool
            found = aiohttp.ClientTimeout(
                total=None, connect=total_connect, sock_connect=connect, sock_read=read
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = found
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self.session()
        # httpx has already validated and percent-encoded the URL and the headers:
        # hand them over as they are instead of letting aiohttp parse them again.
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream
            headers = [h for h in headers if h[0].lower() != "transfer-encoding"]
        timeout = request.extensions.get("timeout") or {}
        try:
            response = await session.request(
                request.method,
                self._url(str(request.url), encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=self._client_timeout(timeout),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except Exception as exc:
            mapped = _map_error(exc)
            if mapped is None:
                raise
            mapped.request = request
            raise mapped from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("ascii", "replace")
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def is_closed(self) -> bool:
        return self._closed


def aiohttp_http_client(
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that sends its requests over aiohttp.

    Pass it as ``AsyncCmeClient(..., http_client=cme_async.aiohttp_http_client())``:
    the SDK then sends on its aiohttp session directly (the native road). The SDK does
    not close a client you pass in: close it yourself (``await http.aclose()``) or use
    ``async with``.

    Args:
        max_connections: connections open at once (aiohttp keeps all of them alive).
        keepalive_expiry: seconds an idle connection is kept.
        timeout: seconds per httpx phase (connect, read, write, pool), or an ``httpx.Timeout``.
        verify: ``False`` to skip TLS verification, or an ``ssl.SSLContext``.

    Raises:
        ImportError: aiohttp is not installed (``pip install cme-async[aiohttp]``).
    """
    transport = AiohttpTransport(
        max_connections=max_connections, keepalive_expiry=keepalive_expiry, verify=verify
    )
    client = httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        # Proxies from the environment would be mounted on httpcore transports and
        # bypass aiohttp; configure a proxy on the session instead if you need one.
        trust_env=False,
    )
    # The ``cookies`` setter copies into a plain ``httpx.Cookies``; set the jar itself.
    client._cookies = SkipEmptyCookies()
    return client
