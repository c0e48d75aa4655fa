"""What a client and all its ``with_options`` views share, and the one HTTP exchange.

The connection pool (``default_http_client`` builds the SDK's own), the token manager,
the limits, the event loop the client belongs to, the calls in flight, and ``send``:
the POST, shielded from a caller's cancellation where the transport needs it.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

from ._constants import (
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_KEEPALIVE_CONNECTIONS,
    DEFAULT_TIMEOUT,
    USER_AGENT,
)
from ._cookies import SkipEmptyCookies
from ._errors import ClientClosedError, EventLoopMismatchError
from ._limits import Limits
from ._tokens import TokenManager

_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
_URL_CACHE_SIZE = 256


def default_http_client(
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_keepalive_connections: int = DEFAULT_MAX_KEEPALIVE_CONNECTIONS,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The pooled ``httpx.AsyncClient`` the SDK builds when you pass none.

    Use it to tweak pool sizes while keeping the SDK's defaults for the rest.
    """
    client = httpx.AsyncClient(
        timeout=timeout,
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=DEFAULT_KEEPALIVE_EXPIRY,
        ),
        headers={"User-Agent": USER_AGENT},
        transport=transport,
    )
    # httpx offers no public way to choose the jar's class (its constructor copies into a
    # plain Cookies), and its per-response cookie parsing is ~25% of its client CPU.
    client._cookies = SkipEmptyCookies()
    return client


class SharedState:
    """What a client and all its ``with_options`` views share: pool, tickets, limits, loop."""

    __slots__ = (
        "active",
        "api_base",
        "cancel_safe",
        "closed",
        "http",
        "key",
        "limits",
        "loop",
        "orphans",
        "owns_http",
        "tokens",
        "urls",
        "user_id",
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        owns_http: bool,
        tokens: TokenManager,
        limits: Limits,
        api_url: str,
        user_id: str,
        key: str,
    ) -> None:
        self.http = http
        self.owns_http = owns_http
        self.tokens = tokens
        self.limits = limits
        self.api_base = api_url.rstrip("/") + "/PaaS/"
        self.user_id = user_id
        self.key = key
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        self.active: set[asyncio.Task[Any]] = set()
        # HTTP exchanges whose caller was cancelled, finishing in the background.
        self.orphans: set[asyncio.Task[httpx.Response]] = set()
        self.urls: dict[tuple[str, str], httpx.URL] = {}
        transport = getattr(http, "_transport", None)
        self.cancel_safe = getattr(transport, "cancel_safe", False) is True

    def url_for(self, url: str, authorization: str) -> httpx.URL:
        """The request URL for an action and a ticket, parsed once (httpx re-parses a
        string on every request: 20-48 us measured against 0.7 us for a URL object)."""
        key = (url, authorization)
        found = self.urls.get(key)
        if found is None:
            if len(self.urls) >= _URL_CACHE_SIZE:
                self.urls.clear()  # a new ticket makes new keys; old ones just go
            found = self.urls[key] = httpx.URL(f"{url}?auth={quote(authorization, safe='')}")
        return found

    async def send(self, url: httpx.URL, content: bytes, timeout: httpx.Timeout) -> httpx.Response:
        """POST through the pool, shielded from the caller's cancellation.

        Cancelling a request inside httpcore while it connects or waits for its answer
        can strand the connection in the pool for good (httpcore issues 658 and 1093;
        reproduced here by tests/resilience: after a few storms every call ends in
        PoolTimeout). So the exchange runs in its own task: a cancelled caller stops
        waiting at once, and the exchange finishes in the background, bounded by the
        attempt's timeout, returning its connection to the pool as a normal answer would.
        Transports that declare ``cancel_safe = True`` (the SDK's aiohttp transport) skip
        the extra task.
        """
        if self.cancel_safe:
            return await self.http.post(url, content=content, headers=_HEADERS, timeout=timeout)
        exchange = asyncio.ensure_future(
            self.http.post(url, content=content, headers=_HEADERS, timeout=timeout)
        )
        try:
            return await asyncio.shield(exchange)
        except asyncio.CancelledError:
            if not exchange.done():
                self.orphans.add(exchange)
                exchange.add_done_callback(self._orphan_done)
            raise

    def _orphan_done(self, task: asyncio.Task[httpx.Response]) -> None:
        self.orphans.discard(task)
        if not task.cancelled():
            task.exception()  # nobody awaits it: mark any error as seen

    def enter(self) -> asyncio.Task[Any] | None:
        """Check the client may be used from here; register the calling task."""
        if self.closed:
            raise ClientClosedError("the client is closed; create a new AsyncCmeClient")
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
        elif self.loop is not loop:
            if self.loop.is_closed():
                detail = "the event loop it was opened on is closed"
            else:
                detail = "it was opened on another event loop"
            raise EventLoopMismatchError(
                f"this AsyncCmeClient cannot be used from this event loop: {detail}. "
                "Use one client per event loop: create it with `async with "
                "AsyncCmeClient(...)` inside the loop (e.g. the coroutine passed to "
                "asyncio.run) that makes the calls."
            )
        task = asyncio.current_task()
        if task is not None:
            self.active.add(task)
        return task
