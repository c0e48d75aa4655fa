"""The native aiohttp road: one exchange straight on an ``aiohttp.ClientSession``.

No ``httpx.Request`` or ``httpx.Response`` is built per call. The session and its pool
belong to an ``AiohttpTransport`` (``cme_async._aiohttp``): the SDK's own, or the one
inside a client from ``cme_async.aiohttp_http_client()``, so both roads share one pool.

aiohttp frees the connection and its pool slot when a request is cancelled, so this road
needs no background task (``cancel_safe``), and its ``total`` timeout bounds the whole
attempt, from the wait for a pooled connection to the last byte of the answer. A timeout
while waiting or connecting is ``ConnectTimeout`` (nothing sent); after that it is
``ReadTimeout`` (may have run).
"""

from __future__ import annotations

import asyncio
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from .._aiohttp import AiohttpTransport
from .._constants import USER_AGENT
from .._errors import ClientClosedError, EventLoopMismatchError, ResponseTooLargeError
from ._base import READ_HEADERS, Answer, Method, OnSettled, Secret
from ._httpx_body import Accumulator
from ._scrub import scrub_aiohttp

if TYPE_CHECKING:  # pragma: no cover - typing only
    import aiohttp
    from yarl import URL

__all__ = ["NativeAiohttpTransport"]

_POST_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
_GET_HEADERS = {"User-Agent": USER_AGENT}
_CACHE_SIZE = 256
_NO_CEIL = float(2**31)
_CLOSED_DURING = "the HTTP transport was closed during the exchange"


class _TooLarge(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


class NativeAiohttpTransport:
    """``Transport`` on an aiohttp session (the pool is closed by ``aclose`` only if owned)."""

    #: aiohttp closes the connection and frees its pool slot on cancellation
    #: (tests/transport: the cancellation storm).
    cancel_safe = True

    def __init__(self, pool: AiohttpTransport, *, owned: bool) -> None:
        from yarl import URL

        self.pool = pool
        self.owned = owned
        self._closed = False
        self._url_class = URL
        self._urls: dict[tuple[str, Secret | None], tuple[URL, str | None]] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        # Proxies from the environment, read once (aiohttp's trust_env re-reads them,
        # and netrc, in a thread on every request).
        self._proxies = urllib.request.getproxies()

    def __repr__(self) -> str:
        return f"<NativeAiohttpTransport owned={self.owned}>"

    async def send(
        self,
        method: Method,
        url: str,
        secret: Secret | None,
        *,
        content: bytes | None,
        timeout: float,
        max_bytes: int,
        on_settled: OnSettled | None = None,
    ) -> Answer:
        failure: BaseException
        try:
            try:
                if self._closed:
                    raise ClientClosedError("the HTTP transport is closed")
                return await self._exchange(method, url, secret, content, timeout, max_bytes)
            finally:
                if on_settled is not None:
                    on_settled()
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if self._closed and (task is None or task.cancelling() == 0):
                # Not our caller's cancellation: aclose() closed the pool it waited on.
                failure = _closed_during()
            else:
                failure = asyncio.CancelledError(*exc.args)
        except _TooLarge as exc:
            failure = ResponseTooLargeError(
                f"the answer exceeded max_bytes={max_bytes} bytes; connection closed",
                b"",
                action=None,
                http_status=exc.status,
            )
        except (ClientClosedError, EventLoopMismatchError) as exc:
            failure = type(exc)(*exc.args)
        except Exception as exc:
            if self._closed:
                failure = _closed_during()
            else:
                failure = scrub_aiohttp(exc, None if secret is None else secret[1])
        del secret  # keep it out of this frame's locals in the traceback
        raise failure from None

    async def _exchange(
        self,
        method: Method,
        url: str,
        secret: Secret | None,
        content: bytes | None,
        timeout: float,
        max_bytes: int,
    ) -> Answer:
        session = self.pool.session()
        target, proxy = self._target(url, secret)
        response = await session.request(
            method,
            target,
            data=content,
            headers=_POST_HEADERS if content is not None else _GET_HEADERS,
            allow_redirects=False,
            timeout=self._timeout(timeout),
            auto_decompress=True,
            proxy=proxy,
        )
        try:
            status = response.status
            length = response.content_length
            if length is not None and length > max_bytes:
                raise _TooLarge(status)
            headers = response.headers
            if length is not None and "Content-Encoding" not in headers:
                body = await response.read()  # exactly ``length`` bytes
            else:
                body = await _read(response.content, max_bytes, status)
            return Answer(status, body, {k: v for k in READ_HEADERS if (v := headers.get(k))})
        except BaseException:
            response.close()  # not back to the pool: the rest of the answer is unread
            raise
        finally:
            response.release()

    def _target(self, url: str, secret: Secret | None) -> tuple[URL, str | None]:
        key = (url, secret)
        found = self._urls.get(key)
        if found is None:
            if "?" in url or "#" in url:
                raise httpx.UnsupportedProtocol("the URL must carry no query or fragment")
            if len(self._urls) >= _CACHE_SIZE:
                self._urls.clear()  # a new ticket makes new keys; old ones just go
            text = url if secret is None else f"{url}?{secret[0]}={quote(secret[1], safe='')}"
            target = self._url_class(text, encoded=True)
            found = self._urls[key] = (target, self._proxy_for(target))
        return found

    def _proxy_for(self, target: URL) -> str | None:
        proxies = self._proxies
        if not proxies or target.host is None:
            return None
        if urllib.request.proxy_bypass_environment(target.host, proxies):  # type: ignore[attr-defined]
            return None
        return proxies.get(target.scheme)

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        found = self._timeouts.get(seconds)
        if found is None:
            import aiohttp

            if len(self._timeouts) >= 64:
                self._timeouts.clear()
            # ``total`` covers the pool wait, connecting, writing and the whole answer, but
            # when it fires aiohttp cannot say in which phase. ``connect`` (pool wait and
            # connecting) fires first for those phases and says "not sent"
            # (ConnectionTimeoutError); ``total`` only a hair later. No rounding up to
            # whole seconds (aiohttp's ``ceil_threshold``), so the order always holds.
            found = self._timeouts[seconds] = aiohttp.ClientTimeout(
                total=seconds + max(0.005, seconds * 0.01),
                connect=seconds,
                ceil_threshold=_NO_CEIL,
            )
        return found

    async def aclose(self) -> None:
        """Stop taking exchanges; close the session if the SDK created it."""
        self._closed = True
        if self.owned:
            await self.pool.aclose()


def _closed_during() -> ClientClosedError:
    """The pool closed under an exchange; aiohttp cannot say whether it had gone out."""
    error = ClientClosedError(_CLOSED_DURING)
    error.may_have_run = True
    return error


async def _read(stream: Any, max_bytes: int, status: int) -> bytes:
    """The whole (decoded) body, refusing to hold more than ``max_bytes``."""
    body = Accumulator()
    total = 0
    while chunk := await stream.readany():
        total += len(chunk)
        if total > max_bytes:
            raise _TooLarge(status)
        body.add(chunk)
    return body.result()
