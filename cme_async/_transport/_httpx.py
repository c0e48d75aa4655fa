"""The default road: one exchange through an ``httpx.AsyncClient`` (respx can mock it).

Cancelling a request inside httpcore while it waits for a pooled connection can strand
that connection in the pool for good (httpcore issues 658 and 1093: a connection created
for a request that is cancelled before using it stays "CONNECTING" forever; after a few
cancellation storms every call ends in ``PoolTimeout``). So each exchange runs in its own
task and is never cancelled before it holds a connection:

- a cancelled caller stops waiting at once; the exchange goes on in the background and
  still calls ``on_settled`` when it really ends;
- when the attempt's ``timeout`` runs out, an exchange that has started writing its
  request is cancelled (httpcore then closes that connection: safe), and one that is
  still waiting for a connection is *abandoned*: the caller gets ``ConnectTimeout`` (not
  sent) at once, and the request body refuses to go out if a connection comes later
  (the server sees a request cut short, which it cannot run). The pool and connect
  phases are bounded by httpx's own timeouts, so an abandoned exchange ends within
  about twice the attempt's timeout.

"Started writing" is known from the request body stream, which httpcore iterates after
writing the request line and headers. A client whose transport is not httpcore's (a
``MockTransport``, say) may never iterate it, so there every timeout says "may have run".
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from typing import Any
from urllib.parse import quote

import httpx

from .._constants import (
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_KEEPALIVE_CONNECTIONS,
    DEFAULT_TIMEOUT,
    USER_AGENT,
)
from .._cookies import SkipEmptyCookies
from .._errors import ClientClosedError, EventLoopMismatchError, ResponseTooLargeError
from ._base import Answer, Method, OnSettled, Secret
from ._httpx_body import TooLarge, pick_headers, read_body
from ._scrub import LOOP_MISMATCH, scrub_httpx

__all__ = ["HttpxTransport", "build_httpx_client"]

# Only encodings ``read_body`` inflates within bounds (httpx would add br/zstd when installed).
_ACCEPT = "gzip, deflate"
_POST_HEADERS = {"Content-Type": "application/json", "Accept-Encoding": _ACCEPT}
_GET_HEADERS = {"Accept-Encoding": _ACCEPT}
_CACHE_SIZE = 256
# Seconds aclose() waits for abandoned exchanges on a client it does not own.
_CLOSE_WAIT = 5.0
# Event loop each httpx client was first used on (a client's pool is bound to it).
_BOUND: weakref.WeakKeyDictionary[httpx.AsyncClient, asyncio.AbstractEventLoop] = (
    weakref.WeakKeyDictionary()
)


def build_httpx_client(
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_keepalive_connections: int = DEFAULT_MAX_KEEPALIVE_CONNECTIONS,
    keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """The pooled ``httpx.AsyncClient`` the SDK builds when it is given none."""
    client = httpx.AsyncClient(
        timeout=timeout,
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        ),
        headers={"User-Agent": USER_AGENT},
        transport=transport,
        follow_redirects=False,
        verify=verify,
    )
    # No public API chooses the jar's class: the constructor and the ``cookies`` setter
    # copy into a plain ``httpx.Cookies``, whose per-answer parsing is ~25% of httpx's
    # client CPU. tests/transport/test_private_guards.py fails if httpx renames it.
    client._cookies = SkipEmptyCookies()
    return client


class _Closed(Exception):
    """Raised inside an abandoned exchange's body stream: the request must not go out."""


class _Exchange:
    """One exchange's state, shared by the caller, its task and its deadline timer."""

    __slots__ = (
        "abandoned",
        "expired",
        "on_settled",
        "outer",
        "sent",
        "task",
        "timer",
        "transport",
    )

    def __init__(self, transport: HttpxTransport, on_settled: OnSettled | None) -> None:
        self.transport = transport
        self.on_settled = on_settled
        self.sent = False  # the request line and headers are written
        self.abandoned = False  # reported "not sent": the body must not go out
        self.expired = False  # cancelled by its deadline after it was sent
        self.outer: asyncio.Future[Any] | None = None
        self.task: asyncio.Task[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None

    def expire(self, timeout: float) -> None:
        """The attempt's timeout ran out (timer callback)."""
        task = self.task
        if task is None or task.done():
            return
        if self.sent or not self.transport.phase_aware:
            self.expired = True
            task.cancel()
        else:
            self.abandoned = True
            self._resolve(
                httpx.ConnectTimeout(
                    f"no connection within the attempt's timeout ({timeout:g}s); nothing was sent"
                )
            )

    def stop(self, owned: bool) -> None:
        """The transport is closing: end this exchange without stranding a pool slot."""
        task = self.task
        if task is None or task.done():
            return
        if owned or self.sent or not self.transport.phase_aware:
            task.cancel()
        else:
            self.abandoned = True

    def finished(self, task: asyncio.Task[Any]) -> None:
        """The exchange's task ended (done callback): resolve the caller, settle."""
        if self.timer is not None:
            self.timer.cancel()
        self.transport.live.discard(self)
        if task.cancelled():
            result: Any = ClientClosedError("the transport was closed during the exchange")
            result.may_have_run = self.sent or not self.transport.phase_aware
        else:
            result = task.exception() or task.result()
        self._resolve(result)
        settled, self.on_settled = self.on_settled, None
        if settled is not None:
            settled()

    def _resolve(self, result: Any) -> None:
        outer = self.outer
        if outer is not None and not outer.done():
            outer.set_result(result)


class _Body(httpx.ByteStream):
    """The request body; its first async iteration marks the request as written."""

    def __init__(self, content: bytes, exchange: _Exchange) -> None:
        super().__init__(content)
        self._exchange = exchange

    async def __aiter__(self) -> Any:
        exchange = self._exchange
        if exchange.abandoned:
            raise _Closed("abandoned: the caller was told it was not sent")
        exchange.sent = True
        yield self._stream


def _is_phase_aware(client: httpx.AsyncClient) -> bool:
    transports = [client._transport, *client._mounts.values()]
    return all(t is None or isinstance(t, httpx.AsyncHTTPTransport) for t in transports)


class HttpxTransport:
    """``Transport`` over an ``httpx.AsyncClient`` (closed by ``aclose`` only if ``owned``)."""

    #: Cancelling ``send`` never strands a connection: the exchange is never cancelled
    #: before it holds one (see the module docstring).
    cancel_safe = True

    def __init__(self, client: httpx.AsyncClient, *, owned: bool) -> None:
        self.client = client
        self.owned = owned
        self.phase_aware = _is_phase_aware(client)
        # httpx transports that free their connection on cancellation (the SDK's
        # aiohttp one) need no task per exchange.
        self._direct = getattr(client._transport, "cancel_safe", False) is True
        self.live: set[_Exchange] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._urls: dict[tuple[str, Secret | None], httpx.URL] = {}
        self._timeouts: dict[float, httpx.Timeout] = {}

    def __repr__(self) -> str:
        return f"<HttpxTransport owned={self.owned} in_flight={len(self.live)}>"

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
            loop = asyncio.get_running_loop()
            if loop is not self._loop:
                self._bind(loop)
            if self._closed:
                raise ClientClosedError("the HTTP transport is closed")
            exchange = _Exchange(self, on_settled)
            if self._direct:
                result = await self._direct_send(
                    exchange, method, url, secret, content, timeout, max_bytes
                )
            else:
                exchange.outer = outer = loop.create_future()
                exchange.task = task = loop.create_task(
                    self._run(exchange, method, url, secret, content, timeout, max_bytes)
                )
                task.add_done_callback(exchange.finished)
                exchange.timer = loop.call_at(loop.time() + timeout, exchange.expire, timeout)
                self.live.add(exchange)
                result = await outer
            if isinstance(result, Answer):
                return result
            failure = result
        except asyncio.CancelledError as exc:
            # The exchange (if any) goes on, bounded by its timer; on_settled comes later.
            failure = asyncio.CancelledError(*exc.args)
        except (ClientClosedError, EventLoopMismatchError) as exc:
            # Raised before any exchange began: settle here, once.
            failure = type(exc)(*exc.args)
            if on_settled is not None:
                on_settled()
        del secret  # keep it out of this frame's locals in the traceback
        raise failure from None

    async def _direct_send(
        self,
        exchange: _Exchange,
        method: Method,
        url: str,
        secret: Secret | None,
        content: bytes | None,
        timeout: float,
        max_bytes: int,
    ) -> Answer | BaseException:
        try:
            async with asyncio.timeout(timeout):
                return await self._run(exchange, method, url, secret, content, timeout, max_bytes)
        except TimeoutError:
            if exchange.sent or not self.phase_aware:
                return httpx.ReadTimeout(f"no answer within the attempt's timeout ({timeout:g}s)")
            return httpx.ConnectTimeout(
                f"no connection within the attempt's timeout ({timeout:g}s); nothing was sent"
            )
        finally:
            settled, exchange.on_settled = exchange.on_settled, None
            if settled is not None:
                settled()

    async def _run(
        self,
        exchange: _Exchange,
        method: Method,
        url: str,
        secret: Secret | None,
        content: bytes | None,
        timeout: float,
        max_bytes: int,
    ) -> Answer | BaseException:
        """The exchange itself; returns (never raises) a scrubbed error, to be raised by
        ``send`` from a frame that holds no secret."""
        status: int | None = None
        try:
            client = self.client
            request = client.build_request(
                method,
                self._url(url, secret),
                content=content,
                headers=_POST_HEADERS if content is not None else _GET_HEADERS,
                timeout=self._timeout(timeout),
            )
            request.stream = _Body(content or b"", exchange)
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                status = response.status_code
                kept, declared, encoding = pick_headers(response.headers)
                body = await read_body(response, max_bytes, declared, encoding)
            finally:
                await response.aclose()
            return Answer(status, body, kept)
        except asyncio.CancelledError:
            if exchange.expired:
                return httpx.ReadTimeout(f"no answer within the attempt's timeout ({timeout:g}s)")
            raise
        except TooLarge:
            return ResponseTooLargeError(
                f"the answer exceeded max_bytes={max_bytes} bytes; connection closed",
                b"",
                action=None,
                http_status=status,
            )
        except _Closed:
            if self._closed:
                return ClientClosedError("the HTTP transport was closed; nothing was sent")
            return httpx.ConnectTimeout("abandoned after the attempt's timeout; nothing was sent")
        except Exception as exc:
            return scrub_httpx(exc, None if secret is None else secret[1])

    def _url(self, url: str, secret: Secret | None) -> httpx.URL:
        """The request URL, parsed once per (url, secret): httpx re-parses a string on
        every request (20-48 us measured against 0.7 us for a URL object)."""
        key = (url, secret)
        found = self._urls.get(key)
        if found is None:
            if "?" in url or "#" in url:
                raise httpx.InvalidURL("the URL must carry no query or fragment")
            if len(self._urls) >= _CACHE_SIZE:
                self._urls.clear()  # a new ticket makes new keys; old ones just go
            text = url if secret is None else f"{url}?{secret[0]}={quote(secret[1], safe='')}"
            found = self._urls[key] = httpx.URL(text)
        return found

    def _timeout(self, seconds: float) -> httpx.Timeout:
        found = self._timeouts.get(seconds)
        if found is None:
            if len(self._timeouts) >= 64:
                self._timeouts.clear()
            found = self._timeouts[seconds] = httpx.Timeout(seconds)
        return found

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        bound = self._loop if self._loop is not None else _BOUND.get(self.client)
        if bound is not None and bound is not loop:
            detail = " (the loop it was opened on is closed)" if bound.is_closed() else ""
            raise EventLoopMismatchError(LOOP_MISMATCH.format(detail=detail))
        self._loop = loop
        _BOUND[self.client] = loop

    async def aclose(self) -> None:
        """End exchanges in flight (none strands a pool slot), then close the client if
        the SDK built it. A client you passed in stays open."""
        self._closed = True
        live = list(self.live)
        for exchange in live:
            exchange.stop(self.owned)
        tasks = [e.task for e in live if e.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=_CLOSE_WAIT)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self.owned:
            await self.client.aclose()
