"""One attempt of an action call, as small steps: limits → ticket → observe → send → parse.

The retry loop (``_retry.run``) calls ``ActionAttempt.__call__`` once per attempt.
The ticket is taken only after the concurrency slot and the rate limit let the call
go, right before sending, so a backlog never sends tickets that expired while it
waited. An auth failure drops the ticket that was used (compare-and-invalidate) and
asks for a replay, which goes to the front of the slot queue. A ticket that CME had
accepted before simply expired, so its refusal costs nothing; refusals of tickets that
never worked are final after ``_UNPROVEN_REFUSALS`` (a new login is not helping).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, NamedTuple

from . import _retry
from ._envelope import parse_action_response
from ._errors import AuthError, CmeApiError, CmeError
from ._generated._errors import NO_RELOGIN_AUTH_CODES
from ._hooks import Hook, RequestEvent, ResponseEvent, RetryEvent, emit
from ._redact import release_secret, use_secret
from ._shared import SharedState
from ._tokens import Identity, Ticket
from ._transport import Answer, OnSettled

logger = logging.getLogger("cme_async")
_DEBUG = logging.DEBUG
# Auth replays within one call, at most (tickets expiring faster than calls complete
# must not loop a call forever).
_MAX_AUTH_REPLAYS = 16
# Refusals of tickets CME never accepted that a call tolerates: the first may be a stale
# cached ticket, the next ones fresh tickets caught by an expiry on their first trip.
# The refusal after these is final (at most this many new logins for a broken account).
_UNPROVEN_REFUSALS = 3


class RawResult(NamedTuple):
    """What ``AsyncCmeClient.call_raw`` returns: ``Data`` and what the answer said."""

    data: Any
    #: The answer's ``X-Request-Id`` (quote it to Tencent support), None if absent.
    request_id: str | None
    http_status: int | None
    attempts: int


class Observers:
    """The hooks a client (and its views) report to."""

    __slots__ = ("on_request", "on_response", "on_retry")

    def __init__(
        self,
        on_request: tuple[Hook, ...],
        on_response: tuple[Hook, ...],
        on_retry: tuple[Hook, ...],
    ) -> None:
        self.on_request = on_request
        self.on_response = on_response
        self.on_retry = on_retry


class ActionAttempt:
    """Everything one call needs per attempt; ``await attempt(n)`` makes attempt ``n``."""

    __slots__ = (
        "_auth_replays",
        "_unproven_refusals",
        "action",
        "content",
        "data",
        "identity",
        "max_bytes",
        "observers",
        "progress",
        "request_id",
        "shared",
        "status",
        "timeout",
        "url",
    )

    def __init__(
        self,
        shared: SharedState,
        identity: Identity,
        action: str,
        content: bytes,
        timeout: float,
        max_bytes: int,
        observers: Observers,
        progress: _retry.Progress,
    ) -> None:
        self.shared = shared
        self.identity = identity
        self.action = action
        self.url = shared.api_base + action
        self.content = content
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.observers = observers
        self.progress = progress
        self._auth_replays = 0
        self._unproven_refusals = 0
        #: The answer's ``Data``, request id and HTTP status once an attempt succeeded.
        self.data: Any = None
        self.request_id: str | None = None
        self.status: int | None = None

    async def __call__(self, number: int) -> Any:
        limits = self.shared.limits
        # An auth replay goes first: its new ticket must not wait behind a backlog while
        # the next expiry comes (refusals of tickets that never worked count against it).
        release = None
        if limits.max_concurrency is not None:
            if not self.shared.tokens.ready(self.identity):
                # No ticket at hand: log in before queueing for a slot, so that calls
                # waiting for one user's login hold no slot another user's call needs.
                # (The ticket sent is still taken after the slot, below.)
                await self._ticket()
            release = limits.take_slot()  # no await when a slot is free: most calls
            if release is None:
                release = await limits.acquire_slot(urgent=self._auth_replays > 0)
        handed_over = False
        try:
            if limits.rated:
                await limits.wait_rate(self.action)
            ticket = await self._ticket()
            if self.observers.on_request:
                await emit(self.observers.on_request, RequestEvent(self.action, number))
            handed_over = True  # from here the transport gives the slot back
            return await self._send_and_parse(ticket, number, release)
        finally:
            if release is not None and not handed_over:
                release()

    async def _ticket(self) -> Ticket:
        """This identity's ticket. A failed login (or store) sent nothing of this call,
        and the login had its own retries: its error ends the call as it is."""
        try:
            return await self.shared.tokens.get(self.identity)
        except CmeError as exc:
            stop = _retry.NotSent(exc)
        raise stop

    async def _send_and_parse(self, ticket: Ticket, number: int, release: OnSettled | None) -> Any:
        progress = self.progress
        started = time.monotonic()
        answer: Answer | None = None
        error: BaseException | None = None
        failure: CmeError | None = None
        data: Any = None
        progress.in_exchange = True
        progress.sent += 1
        # Masked in any error text this attempt builds, even by a process that has seen
        # more tickets since than _redact remembers (many users).
        in_use = use_secret(ticket.authorization)
        try:
            answer = await self.shared.transport.send(
                "POST",
                self.url,
                ("auth", ticket.authorization),
                content=self.content,
                timeout=self.timeout,
                max_bytes=self.max_bytes,
                on_settled=release,
            )
            data = parse_action_response(
                answer.status, answer.headers, answer.content, self.action, self.url
            )
        except CmeError as exc:
            if answer is not None:
                exc.headers = answer.headers
            error = failure = exc
        except BaseException as exc:
            error = exc
            raise
        finally:
            try:
                if self.observers.on_response or logger.isEnabledFor(_DEBUG):
                    await self._observe(number, time.monotonic() - started, answer, error)
            finally:
                release_secret(in_use)
            # Only now: a deadline or a close that cuts the call short while a hook runs
            # must still say it may have run (the answer, or the transport error, that
            # says whether it did is lost with the call). The retry policy decides next.
            if not isinstance(error, asyncio.CancelledError):
                progress.in_exchange = False
        if failure is None:
            self.shared.tokens.accepted(self.identity, ticket)
            assert answer is not None
            self.data = data
            self.status = answer.status
            self.request_id = answer.request_id
            return data
        if isinstance(failure, AuthError):
            await self._after_auth_failure(failure, ticket, number)
        raise failure

    async def _observe(
        self, number: int, elapsed: float, answer: Answer | None, error: BaseException | None
    ) -> None:
        status = request_id = code = None
        if answer is not None:
            status = answer.status
            request_id = answer.request_id
            if error is None:
                code = "Success"
            elif isinstance(error, CmeApiError):
                code = error.code
        if logger.isEnabledFor(_DEBUG):
            logger.debug(
                "cme_async %s attempt=%d status=%s code=%s elapsed_ms=%.1f request_id=%s%s",
                self.action,
                number,
                status,
                code or "-",
                elapsed * 1000,
                request_id,
                "" if error is None else f" error={type(error).__name__}",
            )
        if self.observers.on_response:
            event = ResponseEvent(
                action=self.action,
                attempt=number,
                elapsed=elapsed,
                http_status=status,
                code=code,
                request_id=request_id,
                error=error,
            )
            await emit(self.observers.on_response, event)

    async def _after_auth_failure(self, exc: AuthError, ticket: Ticket, number: int) -> None:
        """Drop the refused ticket; ask for a replay unless this failure is final."""
        if not relogin_helps(exc.code):
            return  # a new login cannot cure this code: raise it as it is
        tokens = self.shared.tokens
        proven = tokens.was_accepted(self.identity, ticket)
        await tokens.invalidate(self.identity, ticket)
        if not proven:
            self._unproven_refusals += 1
            if self._unproven_refusals >= _UNPROVEN_REFUSALS + 1:
                return  # new tickets are refused before they ever work: final
        if self._auth_replays >= _MAX_AUTH_REPLAYS:
            return
        self._auth_replays += 1
        logger.info(
            "cme_async %s: %s on the cached ticket; replaying with a new one",
            self.action,
            exc.code,
        )
        await report_retry(
            self.observers, self.action, number, f"auth failure ({exc.code})", 0.0, exc
        )
        raise _retry.ReplayNow


def relogin_helps(code: str) -> bool:
    """Can a new login cure this ``AuthFailure`` code? ``specs/errors.yaml`` decides per
    code (``relogin_helps: false``); an unknown ``AuthFailure*`` code gets one try."""
    return code not in NO_RELOGIN_AUTH_CODES


async def report_retry(
    observers: Observers,
    action: str,
    attempt: int,
    reason: str,
    delay: float | None,
    error: BaseException,
) -> None:
    """Tell the on_retry hooks what the policy decided (delay None: not retrying)."""
    if observers.on_retry:
        event = RetryEvent(
            action=action,
            attempt=attempt,
            reason=reason,
            will_retry=delay is not None,
            delay=delay,
            error=error,
        )
        await emit(observers.on_retry, event)


def retry_reporter(observers: Observers, action: str) -> _retry.OnRetry | None:
    """The retry loop's ``on_retry`` for ``action``: None when no hook listens."""
    if not observers.on_retry:
        return None

    async def report(attempt: int, reason: str, delay: float | None, error: BaseException) -> None:
        await report_retry(observers, action, attempt, reason, delay, error)

    return report


__all__ = [
    "ActionAttempt",
    "Observers",
    "RawResult",
    "relogin_helps",
    "report_retry",
    "retry_reporter",
]
