"""Tickets: each is bound at login to one (platform, user id) and acts as that identity only.

A ticket the emulator has ended (expired on request, by its TTL or at random) is kept
for a while in a bounded "retired" table, so that a call still carrying it can be
attributed to the identity it was issued for.
"""

from __future__ import annotations

import secrets
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

#: What a call's ``auth=`` value turned out to be.
TicketStatus = Literal["valid", "expired", "unknown", "missing"]
Identity = tuple[str, str]  # (platform, user id)


@dataclass(slots=True)
class Session:
    ticket: str
    platform: str
    user_id: str
    tf_uid: str
    issued: float
    expires: float | None
    serial: int  # 1 for the first ticket this emulator issued, 2 for the next ...
    uses: int = 0

    @property
    def identity(self) -> Identity:
        return (self.platform, self.user_id)


def count_for(counter: Counter[Identity], user_id: str, platform: str | None) -> int:
    """``counter``'s count for ``user_id`` on ``platform`` (on every platform when None)."""
    if platform is not None:
        return counter[(platform, user_id)]
    return sum(n for (_, user), n in counter.items() if user == user_id)


class Tickets:
    """Live and retired tickets.  Single-threaded: used from one event loop."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        ttl: float | None = None,
        hex_id: Callable[[int], str],
        retired_size: int = 100_000,
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self._hex_id = hex_id
        self.sessions: dict[str, Session] = {}
        self._retired: OrderedDict[str, Session] = OrderedDict()
        self._retired_size = retired_size
        self._tf_uids: dict[Identity, str] = {}
        self._serial = 0
        #: Tickets ended by the emulator (on request, by TTL when presented, at random).
        self.ended: Counter[Identity] = Counter()

    def tf_uid(self, platform: str, user_id: str) -> str:
        """The CME-internal user id of (platform, user), stable across logins."""
        key = (platform, user_id)
        uid = self._tf_uids.get(key)
        if uid is None:
            uid = self._tf_uids[key] = self._hex_id(24)
        return uid

    def issue(self, platform: str, user_id: str) -> Session:
        now = self.clock()
        self._serial += 1
        session = Session(
            "tf_" + secrets.token_hex(20),
            platform,
            user_id,
            self.tf_uid(platform, user_id),
            now,
            None if self.ttl is None else now + self.ttl,
            self._serial,
        )
        self.sessions[session.ticket] = session
        return session

    def lookup(self, ticket: str | None) -> tuple[Session | None, TicketStatus]:
        """The live session of ``ticket`` and what the ticket was; a ticket whose TTL ran out
        is retired here and answers ``(None, "expired")``."""
        if not ticket:
            return None, "missing"
        found = self.sessions.get(ticket)
        if found is None:
            return None, "expired" if ticket in self._retired else "unknown"
        if found.expires is not None and self.clock() >= found.expires:
            self.end(found)
            return None, "expired"
        return found, "valid"

    def status(self, ticket: str | None) -> TicketStatus:
        """What ``ticket`` is now, without ending it (a TTL that ran out counts as expired)."""
        if not ticket:
            return "missing"
        found = self.sessions.get(ticket)
        if found is None:
            return "expired" if ticket in self._retired else "unknown"
        if found.expires is not None and self.clock() >= found.expires:
            return "expired"
        return "valid"

    def identify(self, ticket: str | None) -> Session | None:
        """The session ``ticket`` was issued as, live or retired (None if never issued here)."""
        if not ticket:
            return None
        return self.sessions.get(ticket) or self._retired.get(ticket)

    def end(self, session: Session) -> None:
        if self.sessions.pop(session.ticket, None) is None:
            return
        self.ended[session.identity] += 1
        self._retired[session.ticket] = session
        if len(self._retired) > self._retired_size:
            self._retired.popitem(last=False)

    def expiries_for(self, user_id: str, platform: str | None = None) -> int:
        return count_for(self.ended, user_id, platform)

    def expire(self, user_id: str | None = None, platform: str | None = None) -> list[Session]:
        """End every live ticket (or those of ``user_id`` / ``platform``); the sessions ended."""
        doomed = [
            s
            for s in self.sessions.values()
            if (user_id is None or s.user_id == user_id)
            and (platform is None or s.platform == platform)
        ]
        for session in doomed:
            self.end(session)
        return doomed
