"""What a root client and all its views share: transport, tickets, limits, loop, calls.

A view (``with_options``, ``as_user``) holds a reference to its root's ``SharedState``
and owns nothing: only the root's ``aclose()`` closes the transport, and it ends the
calls of every view.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from ._errors import ClientClosedError, EventLoopMismatchError
from ._limits import Limits
from ._tokens import TokenManager
from ._transport import Transport


def host_and_port(url: str) -> str:
    """``host:port`` of an endpoint URL, for error messages."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class SharedState:
    """Pool (transport), tickets, limits, the event loop and the calls in flight."""

    __slots__ = (
        "active",
        "api_base",
        "closed",
        "endpoint",
        "limits",
        "loop",
        "owns_transport",
        "tokens",
        "transport",
    )

    def __init__(
        self,
        transport: Transport,
        owns_transport: bool,
        tokens: TokenManager,
        limits: Limits,
        api_url: str,
    ) -> None:
        self.transport = transport
        self.owns_transport = owns_transport
        self.tokens = tokens
        self.limits = limits
        self.api_base = api_url.rstrip("/") + "/PaaS/"
        #: ``host:port`` for error messages (never a path or a query).
        self.endpoint = host_and_port(api_url)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        self.active: set[asyncio.Task[Any]] = set()

    def enter_once(self) -> None:
        """``enter`` for work that is not a call (no task registered)."""
        task, registered = self.enter()
        if registered:
            self.active.discard(task)

    def enter(self) -> tuple[asyncio.Task[Any] | None, bool]:
        """Check the client may be used from here; register the calling task.

        Returns the task and whether this call registered it: a call made inside another
        call's task (from a hook) must not unregister the task when it ends, or closing
        would no longer end the call around it.
        """
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
        if task is None or task in self.active:
            return task, False
        self.active.add(task)
        return task, True

    async def close(self) -> None:
        """End every call of every view, cancel logins, close the transport if owned."""
        if self.closed:
            return
        self.closed = True
        current = asyncio.current_task()
        pending = [t for t in self.active if t is not current and not t.done()]
        for task in pending:
            task.cancel(msg="cme_async: client closed")
        self.tokens.cancel_pending()
        if pending:
            # Give cancelled calls a moment to unwind before the transport closes.
            await asyncio.wait(pending, timeout=5.0)
        if self.owns_transport:
            await self.transport.aclose()
