"""The SDK's exceptions: one tree under ``CmeError``, API errors chosen by code family.

Every message names the action and, for API errors, the code; no message, repr
or attribute holds a ticket, a signature or a secret key (bodies are quoted
through ``redact`` and cut to a short snippet).
"""

from __future__ import annotations

from collections.abc import Mapping

from ._constants import BODY_SNIPPET_CHARS
from ._generated._errors import NOT_FOUND_CODES
from ._redact import redact

# Text past a quote's cut that is redacted with it, so that a secret across the cut is
# masked whole, never half shown (tickets and signatures are far shorter). Only this
# much is decoded and redacted: a whole 32 MiB answer took ~15 s of CPU to redact.
_REDACT_MARGIN = 16 * 1024
#: The longest server message (``Message``, ``EnglishMessage``) an API error keeps.
MESSAGE_CHARS = 1000


def snippet(body: bytes | str, limit: int = BODY_SNIPPET_CHARS) -> str:
    """At most ``limit`` characters of a body, secrets masked, for an error message."""
    window = limit + _REDACT_MARGIN
    text = body[: window * 4].decode("utf-8", "replace") if isinstance(body, bytes) else body
    if len(text) > window or (isinstance(body, bytes) and len(body) > window * 4):
        # Too long to redact whole: only the text around the cut.
        total = f"{len(body)} bytes" if isinstance(body, bytes) else f"{len(body)} chars"
        return redact(text[:window])[:limit] + f"…({total} in all)"
    text = redact(text)
    if len(text) > limit:
        return text[:limit] + f"…(+{len(text) - limit} chars)"
    return text


def _message(text: str) -> str:
    """A server's message as an error keeps it: secrets masked, at most MESSAGE_CHARS."""
    if len(text) <= MESSAGE_CHARS:
        return redact(text)
    return snippet(text, MESSAGE_CHARS)


#: A request id or error code longer than this is the server's garbage: cut in errors.
LABEL_CHARS = 128


def _label(value: str | None) -> str | None:
    """A request id or code as an error shows it: a hostile answer cannot make it huge."""
    if value is None or len(value) <= LABEL_CHARS:
        return value
    return f"{value[:LABEL_CHARS]}…({len(value)} chars)"


class CmeError(Exception):
    """Base class of every error the SDK raises."""

    #: The action (``"Material/DeleteMaterial"``, ``"Login"``) the error belongs to, if any.
    action: str | None = None
    #: How many HTTP attempts were made for the call that raised this error.
    attempts: int = 1
    #: True when the request may have been executed by CME although no answer arrived
    #: (so it was not replayed: the action is not safe to replay).
    may_have_run: bool = False
    #: Headers of the HTTP answer that caused the error, when there was one.
    headers: Mapping[str, str] | None = None

    def __str__(self) -> str:
        text = super().__str__()
        extra = []
        if self.attempts > 1:
            extra.append(f"after {self.attempts} attempts")
        if self.may_have_run:
            extra.append("the request may have run on CME")
        return f"{text} ({'; '.join(extra)})" if extra else text

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle as ``cls(*args)``, which the keyword-only constructors below
        # cannot take; rebuild from the message and the attributes instead. Chained
        # causes and tracebacks are never pickled.
        state = dict(self.__dict__)
        if state.get("headers") is not None:
            state["headers"] = dict(state["headers"])
        return (_rebuild_error, (type(self), self.args, state))


def _rebuild_error(
    cls: type[CmeError], args: tuple[object, ...], state: dict[str, object]
) -> CmeError:
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


def own_copy(err: CmeError) -> CmeError:
    """A copy of ``err`` for one caller, with the same message, attributes and cause.

    One failed single-flight login fails every call that waited on it: each call writes
    its own ``attempts`` and ``may_have_run`` on the error it raises, so each needs an
    object of its own (and a traceback of its own).
    """
    clone = _rebuild_error(type(err), err.args, dict(err.__dict__))
    clone.__cause__ = err.__cause__
    clone.__suppress_context__ = err.__suppress_context__
    return clone


class CmeApiError(CmeError):
    """CME answered with an envelope whose ``Code`` is not ``Success``."""

    def __init__(
        self,
        code: str,
        message: str = "",
        english_message: str = "",
        *,
        request_id: str | None = None,
        action: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.code = code
        self.message = _message(message)
        self.english_message = _message(english_message)
        self.request_id = _label(request_id)
        self.action = action
        self.http_status = http_status
        super().__init__(self._describe())

    def _describe(self) -> str:
        words = self.english_message or self.message or "no message"
        if self.message and self.english_message and self.message != self.english_message:
            words = f"{self.english_message} / {self.message}"
        parts = [f"{self.action or 'CME'}: {_label(self.code)}: {redact(words)}"]
        details = []
        if self.request_id:
            details.append(f"request_id={self.request_id}")
        if self.http_status is not None:
            details.append(f"http_status={self.http_status}")
        if details:
            parts.append(f"[{', '.join(details)}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={_label(self.code)!r}, action={self.action!r}, "
            f"request_id={self.request_id!r}, http_status={self.http_status!r})"
        )


class AuthError(CmeApiError):
    """``AuthFailure*``: the ticket was refused (after one new login and one replay)."""


class LoginError(CmeApiError):
    """The login exchange was refused (bad or expired signature, unknown platform...)."""


class RateLimitError(CmeApiError):
    """``RequestLimitExceeded*``: too many requests; retried with backoff before raising."""


class InvalidParameterError(CmeApiError):
    """``InvalidParameter*``, ``MissingParameter``, ``UnknownParameter``, ``InvalidAction``."""


class PermissionDeniedError(CmeApiError):
    """``OperationDenied*``, ``UnauthorizedOperation*``: the user may not do this."""


class NotFoundError(CmeApiError):
    """The object does not exist: ``ResourceNotFound*`` (also what AI-result queries answer
    when there is no result) and the codes ``specs/errors.yaml`` marks ``not_found``.

    ``after_replay`` is True when an earlier attempt of the same call may have run: a
    replayed ``Delete*`` then finds nothing because its first attempt probably did it.
    """

    after_replay: bool = False


class ParameterNotFoundError(NotFoundError, InvalidParameterError):
    """A not-found answer spelled as a parameter error (``InvalidParameterValue.MaterialId``
    "material not exist", ``...ProjectId``, ``...ClassNotExist``, ...). It is both a
    ``NotFoundError`` and, for code written before it existed, an ``InvalidParameterError``."""


class QuotaExceededError(CmeApiError):
    """``LimitExceeded*``: a quota or billing limit; retrying will not help."""


class OperationFailedError(CmeApiError):
    """``FailedOperation*``: CME tried and failed; not safe to retry blindly."""


class ServerError(CmeApiError):
    """``InternalError*``, ``ServiceUnavailable*``: a fault on CME's side."""


_INVALID_PARAMETER_CODES = frozenset({"MissingParameter", "UnknownParameter", "InvalidAction"})
_FAMILIES: tuple[tuple[str, type[CmeApiError]], ...] = (
    ("AuthFailure", AuthError),
    ("RequestLimitExceeded", RateLimitError),
    ("InvalidParameterValue", InvalidParameterError),
    ("InvalidParameter", InvalidParameterError),
    ("OperationDenied", PermissionDeniedError),
    ("UnauthorizedOperation", PermissionDeniedError),
    ("ResourceNotFound", NotFoundError),
    ("LimitExceeded", QuotaExceededError),
    ("FailedOperation", OperationFailedError),
    ("InternalError", ServerError),
    ("ServiceUnavailable", ServerError),
)


def error_class_for(code: str) -> type[CmeApiError]:
    """The exception class for an error code: the catalogue's not-found codes first, then
    by family (the part before the first dot)."""
    if code in NOT_FOUND_CODES:
        return ParameterNotFoundError if code.startswith("InvalidParameter") else NotFoundError
    family = code.split(".", 1)[0]
    if family in _INVALID_PARAMETER_CODES:
        return InvalidParameterError
    for prefix, cls in _FAMILIES:
        if family == prefix:
            return cls
    return CmeApiError


class CmeHTTPError(CmeError):
    """A non-2xx answer without a readable CME envelope (a proxy's HTML page, a wrong
    base path). ``url`` is the request URL without its query string (the ticket)."""

    def __init__(
        self,
        status_code: int,
        body: bytes | str,
        *,
        action: str | None,
        request_id: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.http_status = status_code
        self.action = action
        self.request_id = _label(request_id)
        self.url = url
        self.body_snippet = snippet(body)
        rid = f", request_id={self.request_id}" if request_id else ""
        where = f" from {url}" if url else ""
        hint = ""
        if status_code == 404 and url:
            hint = " (is api_url / login_url the service's base URL?)"
        super().__init__(
            f"{action or 'CME'}: HTTP {status_code}{where} without a CME envelope{rid}{hint}: "
            f"{self.body_snippet!r}"
        )


class MalformedResponseError(CmeError):
    """A 2xx answer that is not the documented envelope (not JSON, not an object, no ``Code``)."""

    def __init__(
        self,
        reason: str,
        body: bytes | str,
        *,
        action: str | None,
        http_status: int | None,
        request_id: str | None = None,
    ) -> None:
        self.reason = reason
        self.action = action
        self.http_status = http_status
        self.request_id = _label(request_id)
        self.body_snippet = snippet(body)
        rid = f", request_id={self.request_id}" if request_id else ""
        super().__init__(
            f"{action or 'CME'}: malformed answer ({reason}; http_status={http_status}{rid}): "
            f"{self.body_snippet!r}"
        )


class ResponseTooLargeError(MalformedResponseError):
    """The answer was larger than ``max_response_bytes``; the SDK stopped reading and closed
    the connection. Not retried: the same request would get the same answer."""


class CmeConnectionError(CmeError):
    """The request could not be sent or no answer arrived (the httpx error is ``__cause__``)."""

    def __init__(self, message: str, *, action: str | None) -> None:
        self.action = action
        super().__init__(f"{action or 'CME'}: {redact(message)}")


class CmeTimeoutError(CmeConnectionError):
    """A timeout: ``kind`` is ``"attempt"`` (the per-attempt ``timeout``) or ``"deadline"``
    (the overall ``deadline`` of the call, covering every attempt and wait)."""

    def __init__(self, message: str, *, action: str | None, kind: str = "attempt") -> None:
        self.kind = kind
        super().__init__(message, action=action)


class InvalidRequestError(InvalidParameterError):
    """The request was refused before anything was sent: a bad action name, a body that
    is not a JSON object or cannot be encoded (NaN, lone surrogates, cycles, bytes).

    Raised locally: ``attempts == 0``, ``may_have_run`` is False, ``request_id`` is None.
    """

    attempts = 0

    def __init__(self, message: str, *, action: str | None, code: str = "InvalidParameter") -> None:
        super().__init__(code, message, message, action=action)


class RequestValidationError(InvalidRequestError):
    """An argument breaks a documented limit (length, item count, range, allowed values);
    checked before sending, so nothing was sent. ``field`` names the wire field."""

    def __init__(self, message: str, *, action: str | None, field: str | None = None) -> None:
        self.field = field
        super().__init__(message, action=action, code="InvalidParameterValue")


class TicketStoreError(CmeError):
    """The ticket store (e.g. Redis) failed or answered garbage; ``store`` and
    ``operation`` say which and what. Never carries a ticket."""

    def __init__(self, message: str, *, store: str, operation: str) -> None:
        self.store = store
        self.operation = operation
        super().__init__(f"ticket store {store}: {operation} failed: {redact(message)}")


class RateLimiterError(CmeError):
    """A shared rate limiter (e.g. Redis) could not be asked; the call was not sent."""

    def __init__(self, message: str, *, limiter: str) -> None:
        self.limiter = limiter
        super().__init__(f"rate limiter {limiter}: {redact(message)}")


class ClientClosedError(CmeError):
    """The client was closed (``aclose()``) before or while the call ran."""


class EventLoopMismatchError(CmeError):
    """The client was used from an event loop other than the one it was opened on."""
