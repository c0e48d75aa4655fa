"""Reading CME's answers: the action envelope and the two login shapes.

Pure functions from (status, headers, body) to data or a typed error; nothing
here knows about HTTP clients, tickets or retries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import (
    CmeApiError,
    CmeHTTPError,
    LoginError,
    MalformedResponseError,
    error_class_for,
)
from ._redact import register_secret

_loads: Callable[[bytes], Any]
try:  # orjson (the `speedups` extra) parses several times faster than json
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - exercised without the extra
    _loads = json.loads

# Families a login answer may carry that waiting or retrying can cure.
_LOGIN_TRANSIENT = ("RequestLimitExceeded", "InternalError", "ServiceUnavailable")
_LOGIN_HINT = (
    "; check that CME_SECRET_ID and CME_SECRET_KEY are one key pair, that CME_PLATFORM is "
    "the platform that key belongs to, that this machine's clock is right (the signature "
    "carries its time) and that the signature has not expired"
)
_HINTED = ("AuthFailure", "InvalidParameterValue.Platform", "InvalidParameter.Signature")


def _login_error(code: str, message: str, english: str, **kw: Any) -> CmeApiError:
    """A refused login: ``LoginError`` with a hint, or a retryable class for transient codes."""
    if code.split(".", 1)[0] in _LOGIN_TRANSIENT:
        return error_class_for(code)(code, message, english, **kw)
    if code.startswith(_HINTED) or "Signature" in code or "Secret" in code:
        english = (english or message or "login refused") + _LOGIN_HINT
    return LoginError(code, message, english, **kw)


def _decode(body: bytes) -> tuple[Any, str | None]:
    """(payload, None) or (None, reason it is not JSON)."""
    if not body:
        return None, "empty body"
    try:
        return _loads(body), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"not JSON: {exc.__class__.__name__}"
    except RecursionError:  # json.loads (without orjson) on a deeply nested answer
        return None, "not JSON: nested too deeply"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _api_error(
    cls: Callable[..., CmeApiError],
    code: str,
    payload: dict[str, Any],
    request_id: str | None,
    action: str,
    status: int,
) -> CmeApiError:
    """The error an envelope with ``Code``/``Message``/``EnglishMessage`` describes."""
    return cls(
        code,
        _text(payload.get("Message")),
        _text(payload.get("EnglishMessage")),
        request_id=request_id or _text(payload.get("RequestId")) or None,
        action=action,
        http_status=status,
    )


def parse_action_response(
    status: int, headers: Mapping[str, str], body: bytes, action: str, url: str | None = None
) -> Any:
    """The envelope's ``Data`` (None when absent), or raise the error the answer describes.

    ``url`` (never with its query string) is named in an error for a non-envelope answer.
    """
    payload, reason = _decode(body)
    if isinstance(payload, dict):
        code = payload.get("Code")
        if code == "Success":
            return payload.get("Data")
        # Only errors need the request id (a header lookup scans the list).
        request_id = headers.get("x-request-id")
        if isinstance(code, str):
            raise _api_error(error_class_for(code), code, payload, request_id, action, status)
        reason = "no Code field" if code is None else "Code is not a string"
    else:
        request_id = headers.get("x-request-id")
        if reason is None:
            reason = f"a JSON {type(payload).__name__}, not an object"
    if not 200 <= status < 300:
        raise CmeHTTPError(status, body, action=action, request_id=request_id, url=url)
    raise MalformedResponseError(
        reason or "unreadable", body, action=action, http_status=status, request_id=request_id
    )


def parse_login_response(
    status: int, headers: Mapping[str, str], body: bytes, url: str | None = None
) -> dict[str, Any]:
    """The login's ticket fields (``Authorization``, ``AppId``, ``Platform``, ``TfUid``).

    Accepts the current shape ``{"Response": {...}}`` / ``{"Response": {"Error": ...}}``
    and the older ``{"Code": "Success", "Data": {...}}`` / ``{"Code": <error>, ...}``.
    """
    action = "Login"
    request_id = headers.get("x-request-id")
    payload, reason = _decode(body)
    if isinstance(payload, dict):
        response = payload.get("Response")
        if isinstance(response, dict):
            rid = request_id or _text(response.get("RequestId")) or None
            error = response.get("Error")
            if isinstance(error, dict):
                raise _login_error(
                    _text(error.get("Code")) or "UnknownError",
                    _text(error.get("Message")),
                    "",
                    request_id=rid,
                    action=action,
                    http_status=status,
                )
            return _ticket_fields(response, status, body, rid)
        code = payload.get("Code")
        if isinstance(code, str):
            if code != "Success":
                raise _api_error(_login_error, code, payload, request_id, action, status)
            rid = request_id or _text(payload.get("RequestId")) or None
            data = payload.get("Data")
            if isinstance(data, dict):
                return _ticket_fields(data, status, body, rid)
            reason = "Success without a Data object"
        else:
            reason = "neither Response nor Code"
    elif reason is None:
        reason = f"a JSON {type(payload).__name__}, not an object"
    if not 200 <= status < 300:
        raise CmeHTTPError(status, body, action=action, request_id=request_id, url=url)
    raise MalformedResponseError(
        reason or "unreadable", body, action=action, http_status=status, request_id=request_id
    )


#: The longest Authorization a login answer may give (CME's are far shorter).
MAX_TICKET_CHARS = 4096
_TICKET_CHARS = re.compile(r"[\x21-\x7e]+")


def _ticket_fields(
    fields: dict[str, Any], status: int, body: bytes, request_id: str | None
) -> dict[str, Any]:
    authorization = fields.get("Authorization")
    problem = None
    if not isinstance(authorization, str) or not authorization:
        problem = "no Authorization in the login answer"
    elif len(authorization) > MAX_TICKET_CHARS or not _TICKET_CHARS.fullmatch(authorization):
        # Kept, it would ride in every request's URL: one too long for any server (or with
        # spaces or line breaks) fails each call as "not sent" and is never dropped.
        problem = (
            f"the login answer's Authorization is not a ticket ({len(authorization)} chars, "
            f"printable ASCII without spaces, at most {MAX_TICKET_CHARS} expected)"
        )
    if problem is not None:
        raise MalformedResponseError(
            problem,
            body,
            action="Login",
            http_status=status,
            request_id=request_id,
        )
    assert isinstance(authorization, str)
    register_secret(authorization)
    return fields


__all__ = ["parse_action_response", "parse_login_response"]
