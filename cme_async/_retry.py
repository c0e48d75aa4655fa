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

Backoff is exponential with full jitter (``RETRY_BASE_DELAY * 2**(n-1)`` capped at
``RETRY_MAX_DELAY``); a ``Retry-After`` answer is honoured up to ``RETRY_AFTER_MAX``
seconds, and a longer one is not waited for.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Literal

import attrs
import httpx

from ._constants import RETRY_AFTER_MAX, RETRY_BASE_DELAY, RETRY_MAX_DELAY
from ._errors import (
    CmeConnectionError,
    CmeError,
    CmeHTTPError,
    CmeTimeoutError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)

Verdict = Literal["retry", "raise", "raise_may_have_run"]

_SAFE_STATUSES = frozenset({500, 502, 503, 504})
# Transport errors raised before any byte of the request reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@attrs.frozen
class RetryDecision:
    verdict: Verdict
    reason: str


def classify(error: BaseException, *, replay_safe: bool) -> RetryDecision:
    """Decide what to do about ``error`` (an httpx transport error or a ``CmeError``)."""
    if isinstance(error, _NOT_SENT):
        return RetryDecision("retry", f"{type(error).__name__}: the request was not sent")
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
        return RetryDecision("retry", transient)
    return RetryDecision("raise_may_have_run", f"{transient}; action not safe to replay")


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


def as_cme_error(error: BaseException, action: str, attempts: int) -> CmeError:
    """``error`` itself if it is a ``CmeError``, else the SDK error for an httpx transport
    error (the caller raises it ``from`` the original); ``attempts`` recorded on it."""
    err: CmeError
    if isinstance(error, CmeError):
        err = error
    elif isinstance(error, httpx.TimeoutException):
        err = CmeTimeoutError(
            f"{type(error).__name__}: no answer within the per-attempt timeout",
            action=action,
            kind="attempt",
        )
    else:
        err = CmeConnectionError(f"{type(error).__name__}: {error}", action=action)
    err.attempts = attempts
    return err


def describe(error: BaseException) -> str:
    if isinstance(error, CmeError):
        return str(error)
    return f"{type(error).__name__}: {error}"
