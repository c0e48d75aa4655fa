"""Exit codes of ``cme`` and the one line each error is shown as."""

from __future__ import annotations

import enum

from .._errors import (
    AuthError,
    CmeApiError,
    CmeError,
    InvalidRequestError,
    LoginError,
    TicketStoreError,
)
from .._redact import redact


class Exit(enum.IntEnum):
    """``cme``'s exit statuses (docs/cli.md)."""

    OK = 0
    #: A bug in cme: the message says so; rerun with --debug for the traceback.
    INTERNAL = 1
    #: Bad usage or input: an unknown option or action, --data that is not JSON...
    USAGE = 2
    #: Configuration: a missing variable (CME_SECRET_KEY...), a bad or missing profile.
    CONFIG = 3
    #: The key was refused: the login failed or CME refused the ticket.
    AUTH = 4
    #: CME answered with an error code (not found, invalid parameter, permission...).
    API = 5
    #: No usable answer: connection, timeout, HTTP error page, malformed answer, Redis.
    NETWORK = 6
    #: ``cme batch`` finished, but some items failed, are invalid or have unknown outcome.
    BATCH_ITEMS_FAILED = 7
    #: Stopped by Ctrl-C (SIGINT); 143 for SIGTERM.
    INTERRUPTED = 130
    TERMINATED = 143


class CliError(Exception):
    """An error ``cme`` shows as one line and an exit status."""

    def __init__(self, message: str, code: Exit = Exit.USAGE) -> None:
        super().__init__(message)
        self.code = code


def one_line(text: str) -> str:
    return " ".join(redact(text).split())


def classify(exc: BaseException) -> tuple[str, Exit]:
    """The line to print and the exit status for an exception."""
    if isinstance(exc, CliError):
        return one_line(str(exc)), exc.code
    if isinstance(exc, LoginError):
        text = f"login refused: {exc}"
        if "CME_SECRET_KEY" not in text:
            text += " (check CME_SECRET_ID, CME_SECRET_KEY and CME_PLATFORM)"
        return one_line(text), Exit.AUTH
    if isinstance(exc, AuthError):
        return one_line(str(exc)), Exit.AUTH
    if isinstance(exc, InvalidRequestError):
        return one_line(str(exc)), Exit.USAGE
    if isinstance(exc, CmeApiError):
        return one_line(_api_line(exc)), Exit.API
    if isinstance(exc, TicketStoreError):
        return one_line(str(exc)), Exit.NETWORK
    if isinstance(exc, CmeError):
        hint = ""
        if type(exc).__name__ in ("CmeConnectionError", "CmeTimeoutError"):
            hint = " (is CME_API_URL / CME_LOGIN_URL right, and the service reachable?)"
        return one_line(f"{exc}{hint}"), Exit.NETWORK
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return one_line(f"{type(exc).__name__}: {exc}"), Exit.NETWORK
    if _is_redis_outage(exc):
        return (
            one_line(
                f"Redis: {type(exc).__name__}: {exc} (is --redis / CME_REDIS_URL right, "
                "and Redis running?)"
            ),
            Exit.NETWORK,
        )
    return (
        one_line(f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for details"),
        Exit.INTERNAL,
    )


def _is_redis_outage(exc: BaseException) -> bool:
    """redis-py's connection and timeout errors (not builtins' subclasses), without
    importing redis (an optional extra)."""
    return any(
        klass.__module__.startswith("redis.")
        and klass.__name__ in ("ConnectionError", "TimeoutError")
        for klass in type(exc).__mro__
    )


def _api_line(exc: CmeApiError) -> str:
    words = exc.english_message or exc.message or "no message"
    request = f" (request id {exc.request_id})" if exc.request_id else ""
    action = f"{exc.action}: " if exc.action else ""
    return f"{action}{exc.code}: {words}{request}"
