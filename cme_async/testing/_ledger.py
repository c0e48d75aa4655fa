"""What the emulator saw: a bounded log of requests and the counters tests assert on.

Every login and every action request leaves one :class:`RequestRecord` naming the
identity its ticket was issued for, so a test can prove that each call carried its
own user's ticket.  Tickets themselves are never recorded, only the serial number
of the login that issued them.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from .world.tickets import Identity, Session, TicketStatus, count_for

#: Records kept by default: enough to look at what just happened, small enough that a
#: long run's memory stays flat.  Tests that audit every call ask for more.
DEFAULT_LOG_SIZE = 1_000


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the emulator answered it.

    ``action`` is ``"Class/Name"`` or ``"Login"``.  ``user_id``/``platform`` are the
    identity the ticket was issued for (for a login: the signature's), None when the
    ticket was never issued here or the signature did not verify.  ``ticket`` says
    whether the ticket was ``valid``, ``expired`` (ended by the emulator), ``unknown``
    or ``missing`` (None for logins).  ``session`` is the serial number of the login
    that issued the ticket (for a login: of the ticket it issued).  ``status`` is the
    HTTP status (None when the connection was dropped); ``code`` the answer's ``Code``
    (or ``Response.Error.Code``, ``"Success"`` for a ticket), None when the answer had
    none (an injected HTTP error, a malformed body, a dropped connection).
    """

    seq: int
    time: float
    action: str
    user_id: str | None
    platform: str | None
    ticket: TicketStatus | None
    session: int | None
    body: Any
    status: int | None
    code: str | None
    request_id: str

    @property
    def outcome(self) -> str:
        """``"Success"``, an error code, ``"HTTP 503"``, ``"malformed"`` or ``"dropped"``."""
        if self.status is None:
            return "dropped"
        if self.code is not None:
            return self.code
        return "malformed" if self.status == 200 else f"HTTP {self.status}"

    def to_json(self) -> dict[str, Any]:
        return {
            "Seq": self.seq,
            "Time": self.time,
            "Action": self.action,
            "UserId": self.user_id,
            "Platform": self.platform,
            "Ticket": self.ticket,
            "Session": self.session,
            "Body": self.body,
            "Status": self.status,
            "Code": self.code,
            "Outcome": self.outcome,
            "RequestId": self.request_id,
        }


#: One record as stored: a plain tuple is the cheapest thing to keep per request;
#: it becomes a RequestRecord when read.
_Row = tuple[
    int, float, str, str | None, str | None, TicketStatus | None, int | None, Any,
    int | None, str | None, str,
]  # fmt: skip


class Ledger:
    """Counters and the request log.  ``reset()`` clears them; ``internal_errors`` stays."""

    def __init__(self, log_size: int = DEFAULT_LOG_SIZE) -> None:
        self.log_size = log_size
        self.internal_errors: list[str] = []
        self._rows: deque[_Row] = deque(maxlen=log_size)
        self.reset()

    def resize(self, log_size: int) -> None:
        """Keep the last ``log_size`` records from now on (0 keeps none)."""
        if log_size < 0:
            raise ValueError("the request log size must not be negative")
        self.log_size = log_size
        self._rows = deque(self._rows, maxlen=log_size)

    def reset(self) -> None:
        self._rows = deque(maxlen=self.log_size)
        self.calls: Counter[str] = Counter()
        self.logins = 0
        self.login_attempts = 0
        self.logins_by: Counter[Identity] = Counter()
        self._seq = 0

    @property
    def requests(self) -> list[RequestRecord]:
        """The records kept, oldest first."""
        return [RequestRecord(*row) for row in self._rows]

    def record(
        self,
        time: float,
        action: str,
        who: Session | Identity | None,
        ticket: TicketStatus | None,
        body: Any,
        status: int | None,
        code: str | None,
        request_id: str,
    ) -> None:
        """Append one record; ``who`` is the ticket's session, or for a login that issued
        none, the (platform, user id) its signature named."""
        self._seq += 1
        seq, rows = self._seq, self._rows
        if isinstance(who, Session):
            user, platform, serial = who.user_id, who.platform, who.serial
            rows.append(
                (seq, time, action, user, platform, ticket, serial, body, status, code, request_id)
            )
        elif who is not None:
            user, platform = who[1], who[0]
            rows.append(
                (seq, time, action, user, platform, ticket, None, body, status, code, request_id)
            )
        else:
            rows.append(
                (seq, time, action, None, None, ticket, None, body, status, code, request_id)
            )

    @property
    def dropped(self) -> int:
        """Records the bounded log no longer holds (the counters still count them)."""
        return self._seq - len(self._rows)

    def login(self, session: Session) -> None:
        self.logins += 1
        self.logins_by[session.identity] += 1

    def logins_for(self, user_id: str, platform: str | None = None) -> int:
        return count_for(self.logins_by, user_id, platform)

    def counters_json(self) -> dict[str, Any]:
        def rows(counter: Counter[Identity], name: str) -> list[dict[str, Any]]:
            return [{"Platform": p, "UserId": u, name: n} for (p, u), n in sorted(counter.items())]

        return {
            "Logins": self.logins,
            "LoginAttempts": self.login_attempts,
            "Calls": dict(self.calls),
            "LoginsByUser": rows(self.logins_by, "Logins"),
            "Requests": self._seq,
        }
