"""What a ticket is, whose it is, and where tickets are kept: ``Identity``, ``Ticket``,
the ``TicketStore`` / ``SharedLoginStore`` protocols and the in-process ``MemoryTicketStore``.
The token manager (``_tokens``) decides when to log in; this module only holds."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol, runtime_checkable
from urllib.parse import quote

import attrs

from ._redact import mask

#: Records the manager keeps per identity (and ``MemoryTicketStore``'s default size).
DEFAULT_MAX_TICKETS = 10_000


@attrs.frozen(slots=True)
class Identity:
    """Who a ticket belongs to: the login endpoint, the platform and the end user."""

    endpoint: str
    platform: str
    user_id: str
    key: str = attrs.field(init=False, eq=False, repr=False)

    @key.default
    def _key(self) -> str:
        # Percent-encoding with nothing safe escapes the separator in every part.
        parts = (quote(self.endpoint, safe=""), quote(self.platform, safe=""))
        return f"{parts[0]}|{parts[1]}|{quote(self.user_id, safe='')}"


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

    def belongs_to(self, identity: Identity) -> bool:
        """Issued for this user (and platform, when the ticket records one)?"""
        if self.user_id != identity.user_id:
            return False
        return self.platform is None or self.platform == identity.platform


@runtime_checkable
class TicketStore(Protocol):
    """Where tickets are kept, keyed by ``Identity.key`` (docs/tickets.md).

    ``set`` gets ``ttl`` (seconds) when the client has a ``ticket_ttl``: the store may
    expire the entry then. ``compare_and_delete`` must be atomic.
    """

    async def get(self, key: str) -> Ticket | None: ...

    async def set(self, key: str, ticket: Ticket, ttl: float | None = None) -> None: ...

    async def compare_and_delete(self, key: str, authorization: str) -> bool:
        """Delete the ticket under ``key`` only if its authorization is ``authorization``."""
        ...


@runtime_checkable
class SharedLoginStore(TicketStore, Protocol):
    """A store shared by processes that also coordinates their logins (one at a time).

    ``acquire_login_lock`` takes the lock for ``key`` if nobody holds it (owner token,
    expiry ``ttl`` seconds); ``release_login_lock`` releases it only for its owner;
    ``wait_for_ticket`` returns the ticket once one is stored, or None when the lock
    is released without one or ``timeout`` passes.
    """

    #: Seconds a login lock lives before another process may take it (None: the
    #: client's default, a little longer than one login may take).
    login_lock_ttl: float | None

    async def acquire_login_lock(self, key: str, owner: str, ttl: float) -> bool: ...

    async def release_login_lock(self, key: str, owner: str) -> bool: ...

    async def wait_for_ticket(self, key: str, timeout: float) -> Ticket | None: ...


class MemoryTicketStore:
    """The default store: a dict in this process, least recently used out first."""

    __slots__ = ("_tickets", "max_tickets")

    def __init__(self, max_tickets: int | None = DEFAULT_MAX_TICKETS) -> None:
        if max_tickets is not None and (
            isinstance(max_tickets, bool) or not isinstance(max_tickets, int) or max_tickets < 1
        ):
            raise ValueError(f"max_tickets must be a positive int or None, got {max_tickets!r}")
        self.max_tickets = max_tickets
        self._tickets: OrderedDict[str, tuple[Ticket, float | None]] = OrderedDict()

    async def get(self, key: str) -> Ticket | None:
        return self.get_now(key)

    def get_now(self, key: str) -> Ticket | None:
        """``get`` without awaiting (the token manager's fast path)."""
        entry = self._tickets.get(key)
        if entry is None:
            return None
        ticket, expires = entry
        if expires is not None and time.monotonic() >= expires:
            del self._tickets[key]
            return None
        self._tickets.move_to_end(key)
        return ticket

    async def set(self, key: str, ticket: Ticket, ttl: float | None = None) -> None:
        expires = None if ttl is None else time.monotonic() + ttl
        self._tickets[key] = (ticket, expires)
        self._tickets.move_to_end(key)
        if self.max_tickets is not None:
            while len(self._tickets) > self.max_tickets:
                self._tickets.popitem(last=False)

    async def compare_and_delete(self, key: str, authorization: str) -> bool:
        entry = self._tickets.get(key)
        if entry is not None and entry[0].authorization == authorization:
            del self._tickets[key]
            return True
        return False

    def __len__(self) -> int:
        return len(self._tickets)

    def __repr__(self) -> str:
        # getattr: a traceback rendered with locals shows a half-built one too.
        tickets, most = len(getattr(self, "_tickets", ())), getattr(self, "max_tickets", None)
        return f"MemoryTicketStore({tickets} tickets, max_tickets={most})"
