"""The token manager: one cached Authorization ticket per identity, one login at a time.

* Single flight: concurrent callers that find no usable ticket await one shared
  login task; no lock is held across network I/O.
* The shared login runs in its own task and callers wait through
  ``asyncio.shield``, so a cancelled caller never cancels the login the others
  wait on.
* A failed login reaches every waiter and is not cached.
* Compare-and-invalidate: a ticket refused by CME is dropped only if it is still
  the cached one, so a burst of calls failing on the same old ticket makes one
  new login, not one each.

Tickets live behind ``TicketStore`` (get / set / compare-and-delete), in memory
by default, so a store shared by many processes can be plugged in later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import attrs

from ._redact import mask


@attrs.frozen(repr=False)
class Ticket:
    """A long-term Authorization ticket and what the login said about it."""

    authorization: str
    user_id: str
    app_id: int | str | None = None
    platform: str | None = None
    tf_uid: str | None = None
    #: Unix time (seconds) when the ticket was obtained.
    obtained_at: float = attrs.field(factory=time.time)

    def __repr__(self) -> str:
        return (
            f"Ticket(authorization={mask(self.authorization)}, user_id={self.user_id!r}, "
            f"app_id={self.app_id!r}, platform={self.platform!r}, tf_uid={self.tf_uid!r}, "
            f"obtained_at={self.obtained_at!r})"
        )


@runtime_checkable
class TicketStore(Protocol):
    """Where tickets are kept, keyed by identity (``"<platform>/<user_id>"``)."""

    async def get(self, key: str) -> Ticket | None: ...

    async def set(self, key: str, ticket: Ticket) -> None: ...

    async def compare_and_delete(self, key: str, authorization: str) -> bool:
        """Delete the ticket under ``key`` only if its authorization is ``authorization``."""
        ...


class MemoryTicketStore:
    """The default store: a dict in this process."""

    __slots__ = ("_tickets",)

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}

    async def get(self, key: str) -> Ticket | None:
        return self._tickets.get(key)

    async def set(self, key: str, ticket: Ticket) -> None:
        self._tickets[key] = ticket

    async def compare_and_delete(self, key: str, authorization: str) -> bool:
        current = self._tickets.get(key)
        if current is not None and current.authorization == authorization:
            del self._tickets[key]
            return True
        return False

    def __repr__(self) -> str:
        return f"MemoryTicketStore({len(self._tickets)} tickets)"


LoginFunc = Callable[[str], Awaitable[Ticket]]


class TokenManager:
    """Hands out tickets; logs in (once, however many callers) when none is usable.

    ``login(user_id)`` does the actual exchange; the manager knows nothing of HTTP.
    """

    def __init__(
        self,
        login: LoginFunc,
        *,
        store: TicketStore | None = None,
        ticket_ttl: float | None = None,
    ) -> None:
        if ticket_ttl is not None and ticket_ttl <= 0:
            raise ValueError(f"ticket_ttl must be positive or None, got {ticket_ttl}")
        self._login = login
        self.store: TicketStore = store if store is not None else MemoryTicketStore()
        self.ticket_ttl = ticket_ttl
        self._inflight: dict[str, asyncio.Task[Ticket]] = {}
        # This process's view of the last ticket per identity, for ``client.ticket``
        # (the store may be shared and async; this is never used to authorize a call).
        self._known: dict[str, Ticket] = {}
        #: Logins started by this manager (successful or not).
        self.login_count = 0

    def _usable(self, ticket: Ticket | None) -> bool:
        if ticket is None:
            return False
        if self.ticket_ttl is None:
            return True
        return time.time() - ticket.obtained_at < self.ticket_ttl

    async def get(self, key: str, user_id: str) -> Ticket:
        """The cached ticket for ``key``, logging in first if there is none (single flight)."""
        ticket = await self.store.get(key)
        if ticket is not None and self._usable(ticket):
            return ticket
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._run_login(key, user_id, stale=ticket), name=f"cme-login:{key}"
            )
            self._inflight[key] = task
            task.add_done_callback(self._login_done(key))
        return await asyncio.shield(task)

    def _login_done(self, key: str) -> Callable[[asyncio.Task[Ticket]], None]:
        def done(task: asyncio.Task[Ticket]) -> None:
            if self._inflight.get(key) is task:
                del self._inflight[key]
            # Mark the exception as retrieved: if every waiter was cancelled nobody
            # else will, and asyncio would log "exception was never retrieved".
            if not task.cancelled():
                task.exception()

        return done

    async def _run_login(self, key: str, user_id: str, stale: Ticket | None) -> Ticket:
        self.login_count += 1
        if stale is not None:
            await self.store.compare_and_delete(key, stale.authorization)
        ticket = await self._login(user_id)
        await self.store.set(key, ticket)
        self._known[key] = ticket
        return ticket

    async def invalidate(self, key: str, ticket: Ticket) -> bool:
        """Drop ``ticket`` if it is still the cached one; True if it was dropped."""
        known = self._known.get(key)
        if known is not None and known.authorization == ticket.authorization:
            del self._known[key]
        return await self.store.compare_and_delete(key, ticket.authorization)

    def known(self, key: str) -> Ticket | None:
        """The last ticket this manager obtained for ``key`` and has not seen refused."""
        return self._known.get(key)

    async def peek(self, key: str) -> Ticket | None:
        return await self.store.get(key)

    def cancel_pending(self) -> None:
        """Cancel logins still running (used when the owning client closes)."""
        for task in list(self._inflight.values()):
            task.cancel()
        self._inflight.clear()

    def __repr__(self) -> str:
        return f"TokenManager(store={self.store!r}, ticket_ttl={self.ticket_ttl!r})"
