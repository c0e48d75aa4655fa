"""The token manager: one cached Authorization ticket per identity, one login at a time.

* An identity is (login endpoint, platform, user id); its store key escapes each part,
  so no two identities share a key (``"a/b"`` + ``"c"`` is not ``"a"`` + ``"b/c"``).
* A ticket read back from a store is used only if it was issued for the identity that
  asks; a mismatch is dropped, logged as a warning and never sent.
* Single flight: concurrent callers that find no usable ticket await one shared
  login task; no lock is held across network I/O. The login runs in its own task and
  callers wait through ``asyncio.shield``, so a cancelled caller never cancels it.
* Across processes: a store that also implements ``SharedLoginStore`` (Redis) gives
  a login lock with an owner token and an expiry; one process logs in, the others
  wait for its ticket, and a crashed holder's lock simply expires.
* A failed login reaches every waiter and is not cached.
* Compare-and-invalidate: a refused ticket is dropped only if it is still the cached
  one, so a burst failing on one old ticket makes one new login, not one each.
* Memory stays bounded however many users pass through (LRU records).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._errors import CmeError, TicketStoreError, own_copy
from ._options import seconds
from ._redact import register_secret
from ._tickets import (
    DEFAULT_MAX_TICKETS,
    Identity,
    MemoryTicketStore,
    SharedLoginStore,
    Ticket,
    TicketStore,
)

logger = logging.getLogger("cme_async")


__all__ = [
    "DEFAULT_MAX_TICKETS",
    "Identity",
    "MemoryTicketStore",
    "SharedLoginStore",
    "Ticket",
    "TicketStore",
    "TokenManager",
]


LoginFunc = Callable[[Identity], Awaitable[Ticket]]


class TokenManager:
    """Hands out tickets; logs in (once, however many callers) when none is usable.

    ``login(identity)`` does the actual exchange; the manager knows nothing of HTTP.
    """

    def __init__(
        self,
        login: LoginFunc,
        *,
        store: TicketStore | None = None,
        ticket_ttl: float | None = None,
        login_lock_ttl: float = 30.0,
        max_identities: int = DEFAULT_MAX_TICKETS,
    ) -> None:
        self._login = login
        self.store: TicketStore = store if store is not None else MemoryTicketStore()
        self.ticket_ttl = seconds(ticket_ttl, "ticket_ttl")
        self._shared = isinstance(self.store, SharedLoginStore)
        self._near_cache = not isinstance(self.store, MemoryTicketStore)
        # The default store exactly (a subclass may override get): read it without awaiting.
        self._memory = self.store if type(self.store) is MemoryTicketStore else None
        lock_ttl = getattr(self.store, "login_lock_ttl", None) if self._shared else None
        self.login_lock_ttl = seconds(lock_ttl, "login_lock_ttl") or login_lock_ttl
        self._inflight: dict[str, asyncio.Task[Ticket]] = {}
        # This process's view of the last ticket per identity: ``client.ticket``, and a
        # near cache in front of an out-of-process store. Bounded: LRU out first.
        self._known: OrderedDict[str, Ticket] = OrderedDict()
        # The last ticket CME accepted per identity: a refusal of a ticket that once
        # worked means it expired (a new login cures it); a ticket refused before it
        # ever worked may mean a new login cannot help.
        self._accepted: OrderedDict[str, str] = OrderedDict()
        self._max_identities = max_identities
        self._owner = secrets.token_hex(8)
        #: Logins started by this manager (successful or not).
        self.login_count = 0

    def _usable(self, ticket: Ticket) -> bool:
        if self.ticket_ttl is None:
            return True
        return time.time() - ticket.obtained_at < self.ticket_ttl

    async def _read(self, identity: Identity) -> Ticket | None:
        """The stored ticket if it belongs to ``identity``; a foreign one is dropped."""
        pending = self.store.get(identity.key)
        ticket = await _ask(self.store, "get", pending, self.login_lock_ttl)
        if ticket is None:
            return None
        if not isinstance(ticket, Ticket) or not ticket.belongs_to(identity):
            logger.warning(
                "cme_async: the ticket store returned a ticket for another identity under "
                "the key of user %r on platform %r; dropped, never sent",
                identity.user_id,
                identity.platform,
            )
            if isinstance(ticket, Ticket):
                await self._delete(identity, ticket)
            return None
        # Another process may have logged in for it: masked wherever it is echoed.
        register_secret(ticket.authorization)
        return ticket

    async def _delete(self, identity: Identity, ticket: Ticket) -> bool:
        # Takes the Ticket (its repr is masked), never the bare authorization as a local:
        # a traceback rendered with locals shows every frame's locals.
        pending = self.store.compare_and_delete(identity.key, ticket.authorization)
        return await _ask(self.store, "compare_and_delete", pending, self.login_lock_ttl)

    async def get(self, identity: Identity) -> Ticket:
        """The cached ticket for ``identity``, logging in first if there is none."""
        key = identity.key
        if self._memory is not None:
            found = self._memory.get_now(key)
            if found is not None and found.belongs_to(identity) and self._usable(found):
                return found
        elif self._near_cache:
            # A store in another process (Redis) costs a round trip per read: use the
            # ticket this process last saw. If another process has replaced it, CME
            # refuses the old one once and the refusal re-reads the store.
            cached = self._known.get(key)
            if cached is not None and self._usable(cached):
                return cached
        ticket = await self._read(identity)
        if ticket is not None and self._usable(ticket):
            if self._near_cache:
                self._remember(key, ticket)
            return ticket
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._run_login(identity, stale=ticket), name="cme-login"
            )
            self._inflight[key] = task
            task.add_done_callback(self._login_done(key))
        try:
            return await asyncio.shield(task)
        except CmeError as exc:
            # Every waiter gets the login's error: each its own copy (calls write their
            # own attempts and may_have_run on it), raised outside this except block.
            error = own_copy(exc)
        raise error

    def ready(self, identity: Identity) -> bool:
        """Is a usable ticket at hand without I/O? (False: ``get`` may log in.)"""
        if self._memory is not None:
            found = self._memory.get_now(identity.key)
            return found is not None and found.belongs_to(identity) and self._usable(found)
        cached = self._known.get(identity.key)
        return cached is not None and self._usable(cached)

    def _login_done(self, key: str) -> Callable[[asyncio.Task[Ticket]], None]:
        def done(task: asyncio.Task[Ticket]) -> None:
            if self._inflight.get(key) is task:
                del self._inflight[key]
            # Mark the exception as retrieved: if every waiter was cancelled nobody
            # else will, and asyncio would log "exception was never retrieved".
            if not task.cancelled():
                task.exception()

        return done

    async def _run_login(self, identity: Identity, stale: Ticket | None) -> Ticket:
        if stale is not None:
            await self._delete(identity, stale)
        if self._shared:
            ticket = await self._login_across_processes(identity)
        else:
            ticket = await self._login_and_store(identity)
        self._remember(identity.key, ticket)
        return ticket

    async def _login_and_store(self, identity: Identity) -> Ticket:
        self.login_count += 1
        ticket = await self._login(identity)
        pending = self.store.set(identity.key, ticket, self.ticket_ttl)
        await _ask(self.store, "set", pending, self.login_lock_ttl)
        return ticket

    async def _login_across_processes(self, identity: Identity) -> Ticket:
        """One login per identity among every process sharing the store.

        Take the lock and log in, or wait (bounded by the lock's expiry) for the holder's
        ticket. A holder that failed releases the lock; one that died lets it expire;
        either way the next round takes the lock itself, so nobody waits forever.
        """
        store = self.store
        assert isinstance(store, SharedLoginStore)
        key = identity.key
        ttl = self.login_lock_ttl
        for _ in range(3):
            if await _ask(
                store, "acquire_login_lock", store.acquire_login_lock(key, self._owner, ttl), ttl
            ):
                try:
                    found = await self._read(identity)
                    if found is not None and self._usable(found):
                        return found  # another process finished just before we locked
                    return await self._login_and_store(identity)
                finally:
                    await self._release(store, key, ttl)
            waited = store.wait_for_ticket(key, ttl)
            found = await _ask(store, "wait_for_ticket", waited, ttl * 2)
            if found is not None and found.belongs_to(identity) and self._usable(found):
                register_secret(found.authorization)
                return found
        raise TicketStoreError(
            "other processes held the login lock for three rounds and stored no ticket "
            "(their logins may be failing: see their logs)",
            store=type(store).__name__,
            operation="login lock",
        )

    async def _release(self, store: SharedLoginStore, key: str, ttl: float) -> None:
        """Give the login lock back. A failure here must not fail a login that worked (or
        hide why one did not): the lock expires by itself, so it is logged, not raised."""
        try:
            await _ask(store, "release_login_lock", store.release_login_lock(key, self._owner), ttl)
        except TicketStoreError as exc:
            logger.warning("cme_async: %s; the lock expires by itself within %gs", exc, ttl)

    def _remember(self, key: str, ticket: Ticket) -> None:
        self._known[key] = ticket
        self._known.move_to_end(key)
        while len(self._known) > self._max_identities:
            self._known.popitem(last=False)

    def accepted(self, identity: Identity, ticket: Ticket) -> None:
        """Record that CME accepted ``ticket`` (called after each successful call)."""
        key = identity.key
        if self._accepted.get(key) != ticket.authorization:
            self._accepted[key] = ticket.authorization
            self._accepted.move_to_end(key)
            while len(self._accepted) > self._max_identities:
                self._accepted.popitem(last=False)

    def was_accepted(self, identity: Identity, ticket: Ticket) -> bool:
        """Did CME ever accept ``ticket`` (as far as this process saw)?"""
        return self._accepted.get(identity.key) == ticket.authorization

    async def invalidate(self, identity: Identity, ticket: Ticket) -> bool:
        """Drop ``ticket`` if it is still the cached one; True if it was dropped."""
        known = self._known.get(identity.key)
        if known is not None and known.authorization == ticket.authorization:
            del self._known[identity.key]
        return await self._delete(identity, ticket)

    def known(self, identity: Identity) -> Ticket | None:
        """The last ticket this manager obtained for ``identity`` and has not seen refused."""
        return self._known.get(identity.key)

    async def peek(self, identity: Identity) -> Ticket | None:
        return await self._read(identity)

    def cancel_pending(self) -> None:
        """Cancel logins still running (used when the owning client closes)."""
        for task in list(self._inflight.values()):
            task.cancel()
        self._inflight.clear()

    def __repr__(self) -> str:
        store, ttl = getattr(self, "store", None), getattr(self, "ticket_ttl", None)
        return f"TokenManager(store={store!r}, ticket_ttl={ttl!r})"


_T = TypeVar("_T")


async def _ask(
    store: object, operation: str, pending: Awaitable[_T], timeout: float | None = None
) -> _T:
    """Await a store operation; a failure that is not a ``CmeError``, or no answer within
    ``timeout``, becomes a ``TicketStoreError``, raised outside the ``except`` block (no
    ``__context__``). Bounded because the login every call of a user waits on awaits it:
    a store that never answered held that user for good."""
    try:
        if timeout is None:
            return await pending
        async with asyncio.timeout(timeout):
            return await pending
    except CmeError:
        raise
    except TimeoutError:
        error = TicketStoreError(
            f"no answer within {timeout:g}s", store=type(store).__name__, operation=operation
        )
    except Exception as exc:
        error = TicketStoreError(
            f"{type(exc).__name__}: {exc}", store=type(store).__name__, operation=operation
        )
    raise error
