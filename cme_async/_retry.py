"""The retry policy: which failures are replayed, for which actions, after how long.

==========================================================  ===========  ==================
failure                                                     replay-safe  other actions
==========================================================  ===========  ==================
connect failed/refused, connect or pool timeout (not sent)  retry        retry
``RequestLimitExceeded*``, HTTP 429                         retry        retry
read/write timeout, connection lost after sending           retry        raise, may have run
HTTP 500/502/503/504, ``InternalError*``,                   retry        raise, may have run
``ServiceUnavailable*``, a malformed 2xx answer
parameter, permission, not-found, quota, ``FailedOperation*``  raise     raise
``AuthFailure*``: one new login and one replay, not counted against ``max_retries``
==========================================================  ===========  ==================

``run`` is the one loop every call and every login goes through. It also keeps the
call's ``Progress`` honest: ``may_have_run`` is True as soon as any attempt may have
reached CME without a definite answer, and stays False only when provably nothing ran.

Backoff is exponential with full jitter (``RETRY_BASE_DELAY * 2**(n-1)`` capped at
``RETRY_MAX_DELAY``); a ``Retry-After`` answer is honoured up to ``RETRY_AFTER_MAX``
seconds, and a longer one is not waited for.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal, TypeVar

import attrs
import httpx

from ._constants import RETRY_AFTER_MAX, RETRY_BASE_DELAY, RETRY_MAX_DELAY
from ._errors import (
    ClientClosedError,
    CmeConnectionError,
    CmeError,
    CmeHTTPError,
    CmeTimeoutError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
)

logger = logging.getLogger("cme_async")
Verdict = Literal["retry", "raise", "raise_may_have_run"]
_T = TypeVar("_T")

_SAFE_STATUSES = frozenset({500, 502, 503, 504})
# Transport errors raised before any byte of the request reached the server.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,  # the transport raises it only when no tunnel was opened
)


@attrs.frozen
class RetryDecision:
    verdict: Verdict
    reason: str
    #: The failed attempt may have been executed by CME (no definite answer came back).
    may_have_run: bool = False


def classify(error: BaseException, *, replay_safe: bool) -> RetryDecision:
    """Decide what to do about ``error`` (an httpx transport error or a ``CmeError``)."""
    if isinstance(error, _NOT_SENT):
        return RetryDecision("retry", f"{type(error).__name__}: the request was not sent")
    if isinstance(error, ClientClosedError):
        # The transport says whether the exchange it ended had gone out.
        return RetryDecision("raise", "the client was closed", may_have_run=error.may_have_run)
    if isinstance(error, ResponseTooLargeError):
        return RetryDecision("raise", "answer larger than max_response_bytes", may_have_run=True)
    if isinstance(error, RateLimitError):
        return RetryDecision("retry", f"rate limited ({error.code})")
    if isinstance(error, CmeHTTPError) and error.status_code == 429:
        return RetryDecision("retry", "HTTP 429")
    transient: str | None = None
    if isinstance(error, httpx.TimeoutException):
        transient = f"{type(error).__name__} after the request was sent"
    elif isinstance(error, httpx.TransportError):
        transient = f"{type(error).__name__}: connection lost after the request was sent"
    elif isinstance(error, CmeHTTPError) and error.status_code in _SAFE_STATUSES:
        transient = f"HTTP {error.status_code}"
    elif isinstance(error, ServerError):
        transient = f"server error ({error.code})"
    elif isinstance(error, MalformedResponseError):
        transient = f"malformed answer ({error.reason})"
    if transient is None:
        reason = error.code if hasattr(error, "code") else type(error).__name__
        return RetryDecision("raise", f"not retryable: {reason}")
    if replay_safe:
        return RetryDecision("retry", transient, may_have_run=True)
    return RetryDecision(
        "raise_may_have_run", f"{transient}; action not safe to replay", may_have_run=True
    )


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), if any."""
    if not headers:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils  # only for the rare HTTP-date form; keeps `import cme_async` light

    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, parsed.timestamp() - (time.time() if now is None else now))


def backoff_delay(retry_number: int, retry_after: float | None = None) -> float | None:
    """Seconds to sleep before retry number ``retry_number`` (1-based).

    None means "do not retry": the server asked for a wait longer than we accept.
    """
    if retry_after is not None:
        return None if retry_after > RETRY_AFTER_MAX else retry_after
    ceiling = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * (2 ** (retry_number - 1)))
    return random.uniform(0.0, ceiling)


def as_cme_error(error: BaseException, action: str, attempts: int, where: str = "") -> CmeError:
    """``error`` itself if it is a ``CmeError``, else the SDK error for a transport error,
    chained to it with no traceback (transports raise scrubbed errors: no URL, no
    ticket, no request); ``attempts`` recorded on it. ``where`` names host and port."""
    err: CmeError
    at = f" ({where})" if where else ""
    if isinstance(error, MalformedResponseError) and error.action is None:
        # Raised below the call road (the size bound): name the action.
        err = type(error)(
            error.reason,
            error.body_snippet,
            action=action,
            http_status=error.http_status,
            request_id=error.request_id,
        )
        err.headers = error.headers
    elif isinstance(error, CmeError):
        err = error
    elif isinstance(error, httpx.TimeoutException):
        sent = "" if isinstance(error, _NOT_SENT) else " after the request was sent"
        err = CmeTimeoutError(
            f"{type(error).__name__}{at}: no answer within the attempt timeout{sent}",
            action=action,
            kind="attempt",
        )
    else:
        err = CmeConnectionError(f"{type(error).__name__}{at}: {error}", action=action)
    if err is not error and not isinstance(error, CmeError):
        err.__cause__ = error.with_traceback(None)
        err.__suppress_context__ = True
    err.attempts = attempts
    return err


class Progress:
    """What one call has done so far; read when a deadline, a cancellation or a close
    cuts it short."""

    __slots__ = ("count", "in_exchange", "last_error", "maybe_ran", "sent")

    def __init__(self) -> None:
        self.count = 0
        #: Requests handed to the transport (an attempt cut short in a queue sent none).
        self.sent = 0
        self.last_error: BaseException | None = None
        #: An attempt may have been executed by CME without a definite answer.
        self.maybe_ran = False
        #: An exchange is in flight now (its request may be on the wire).
        self.in_exchange = False

    @property
    def may_have_run(self) -> bool:
        return self.maybe_ran or self.in_exchange


class ReplayNow(Exception):
    """Raised by an attempt to be replayed at once, outside ``max_retries`` (a new ticket)."""


class NotSent(Exception):
    """Raised by an attempt that failed before sending anything, for a reason its own
    retries have already dealt with (the login, which runs ``run`` itself): ``error`` is
    raised as it is, neither retried nor counted as something that may have run."""

    def __init__(self, error: CmeError) -> None:
        super().__init__(error)
        self.error = error


OnRetry = Callable[[int, str, "float | None", BaseException], Awaitable[None]]


async def run(
    attempt: Callable[[int], Awaitable[_T]],
    *,
    action: str,
    replay_safe: bool,
    max_retries: int,
    progress: Progress,
    where: str = "",
    on_retry: OnRetry | None = None,
) -> _T:
    """Run ``attempt(n)`` until it returns, the policy says stop, or retries run out.

    The error raised is a ``CmeError`` with ``attempts`` and an honest ``may_have_run``;
    it is raised outside the ``except`` block, so it drags no transport error along
    as ``__context__``.
    """
    retries = 0
    while True:
        progress.count += 1
        number = attempts = progress.count
        try:
            return await attempt(number)
        except ReplayNow:
            continue
        except NotSent as stop:
            failure: BaseException = stop.error
            decision = RetryDecision("raise", f"not sent: {type(stop.error).__name__}")
            attempts -= 1  # this attempt sent nothing: count only those before it
        except (httpx.TransportError, CmeError) as exc:
            failure = exc
            decision = classify(failure, replay_safe=replay_safe)
        progress.last_error = failure
        progress.maybe_ran = progress.maybe_ran or decision.may_have_run
        delay: float | None = None
        if decision.verdict == "retry" and retries < max_retries:
            headers = failure.headers if isinstance(failure, CmeError) else None
            delay = backoff_delay(retries + 1, parse_retry_after(headers))
        if on_retry is not None:
            await on_retry(number, decision.reason, delay, failure)
        if delay is None:
            err = as_cme_error(failure, action, attempts, where)
            if isinstance(err, NotFoundError) and progress.maybe_ran and number > 1:
                err.after_replay = True
                err.args = (
                    f"{err.args[0]} (after a replay: an earlier attempt, which may have "
                    "run, probably did it)",
                )
            err.may_have_run = progress.maybe_ran
            del failure
            raise err
        retries += 1
        logger.info(
            "cme_async %s attempt %d failed (%s); retry %d/%d in %.2fs",
            action,
            number,
            decision.reason,
            retries,
            max_retries,
            delay,
        )
        del failure
        await asyncio.sleep(delay)


def describe(error: BaseException) -> str:
    if isinstance(error, CmeError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def deadline_error(action: str, limit: float | None, progress: Progress) -> CmeTimeoutError:
    """The error for a call its ``deadline`` cut short, honest about what may have run."""
    last = progress.last_error
    detail = f"; last error: {describe(last)}" if last is not None else ""
    sent = progress.sent
    when = (
        f"after {sent} attempt(s)"
        if sent
        else "before anything was sent (waiting for a slot, the rate limit or a login)"
    )
    err = CmeTimeoutError(
        f"deadline of {limit:g}s exceeded {when}{detail}", action=action, kind="deadline"
    )
    err.attempts = sent
    err.may_have_run = progress.may_have_run
    return err
