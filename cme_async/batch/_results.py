"""What one batch item came to: ``BatchResult`` and its JSON line form."""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs

from .._errors import CmeApiError, CmeError, CmeTimeoutError
from .._redact import redact

#: ``ok``: CME answered Success. ``failed``: an error that says the call did not do its
#: work (safe to send again). ``unknown``: the call may have run on CME but no answer
#: came back, on an action that is not safe to send twice. ``invalid``: the item was
#: refused before anything was sent (not JSON, no id, unknown action...).
Outcome = Literal["ok", "failed", "unknown", "invalid"]

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


#: Characters JSON leaves raw that many readers take for a line break (Python's
#: ``str.splitlines``, JavaScript before ES2019): escaped, one result stays one line.
LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps(value: Any) -> str:
    """One compact JSON line (no trailing newline), one line for every reader."""
    text = _encode(value)
    if text.isascii():
        return text
    if not utf8_safe(text):  # a lone surrogate ("\ud800" in the input, or in an answer)
        return _encode_ascii(value)  # \u escapes, the same value when read back
    return text.translate(LINE_BREAKS)


def utf8_safe(text: str) -> bool:
    """True unless ``text`` holds a lone surrogate, which no UTF-8 file can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@attrs.frozen(slots=True)
class ItemError:
    """Why an item failed: the error's class name, CME's code and message, its request id."""

    type: str
    message: str
    code: str | None = None
    request_id: str | None = None
    may_have_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "may_have_run": self.may_have_run,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ItemError:
        if not isinstance(data, dict):
            return cls("Unknown", "no error recorded")
        return cls(
            type=str(data.get("type") or "Unknown"),
            message=str(data.get("message") or ""),
            code=data.get("code"),
            request_id=data.get("request_id"),
            may_have_run=bool(data.get("may_have_run")),
        )


@attrs.frozen(slots=True)
class BatchResult:
    """The result of one item.

    ``id`` is the item's id (None only for a line without a usable id); ``where``
    says which line or position of the input an invalid item came from.
    ``attempts`` counts HTTP attempts (0 when nothing was sent).
    """

    id: str | None
    outcome: Outcome
    action: str | None = None
    data: Any = None
    attempts: int = 0
    error: ItemError | None = None
    elapsed: float | None = None
    where: str | None = None
    #: The answer's request id on success (failures carry theirs in ``error``).
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "ok": self.ok, "outcome": self.outcome}
        if self.action is not None:
            out["action"] = self.action
        if self.ok:
            out["data"] = self.data
        out["attempts"] = self.attempts
        if self.request_id is not None:
            out["request_id"] = self.request_id
        if self.error is not None:
            out["error"] = self.error.to_dict()
        if self.elapsed is not None:
            out["elapsed_ms"] = round(self.elapsed * 1000, 1)
        if self.where is not None:
            out["where"] = self.where
        return out

    def to_json(self) -> str:
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchResult:
        raw_outcome = data.get("outcome")
        outcome: Outcome = "ok" if data.get("ok") else "failed"
        if raw_outcome in ("failed", "unknown", "invalid"):
            outcome = raw_outcome
        elapsed = data.get("elapsed_ms")
        raw_id = data.get("id")
        return cls(
            id=None if raw_id is None else str(raw_id),
            outcome=outcome,
            action=data.get("action"),
            data=data.get("data"),
            attempts=int(data.get("attempts") or 0),
            error=None if "error" not in data else ItemError.from_dict(data["error"]),
            elapsed=None if not isinstance(elapsed, int | float) else elapsed / 1000,
            where=data.get("where"),
            request_id=data.get("request_id"),
        )


def one_line(text: str) -> str:
    """``text`` redacted, on one line."""
    return " ".join(redact(text).split())


def error_of(exc: BaseException, *, replay_safe: bool) -> ItemError:
    """The ``ItemError`` for an exception a call raised.

    A deadline that ran out on an action that is not safe to replay counts as
    ``may_have_run``: the request may have reached CME before the time was up.
    """
    may_have_run = bool(getattr(exc, "may_have_run", False))
    if isinstance(exc, CmeTimeoutError) and not replay_safe and exc.attempts >= 1:
        may_have_run = True
    code = exc.code if isinstance(exc, CmeApiError) else getattr(exc, "code", None)
    return ItemError(
        type=type(exc).__name__,
        message=one_line(str(exc)) or type(exc).__name__,
        code=code if isinstance(code, str) else None,
        request_id=getattr(exc, "request_id", None),
        may_have_run=may_have_run and isinstance(exc, CmeError),
    )


def failure(
    item_id: str | None,
    action: str | None,
    error: ItemError,
    *,
    replay_safe: bool,
    attempts: int,
    elapsed: float | None = None,
) -> BatchResult:
    outcome: Outcome = "unknown" if error.may_have_run and not replay_safe else "failed"
    return BatchResult(item_id, outcome, action, attempts=attempts, error=error, elapsed=elapsed)


def invalid(
    item_id: str | None, where: str, message: str, code: str = "InvalidItem"
) -> BatchResult:
    """A result for an item refused before anything was sent."""
    return BatchResult(
        item_id,
        "invalid",
        None,
        error=ItemError(type="InvalidItem", message=f"{where}: {message}", code=code),
        where=where,
    )


#: The message of a result written on resume for an item that was in flight when the
#: previous run stopped (a write-ahead line with no result after it).
IN_FLIGHT_AT_STOP = (
    "the previous run stopped while this call was in flight; it may have run on CME. "
    "Check, then rerun with retry_unknown=True (cme batch --retry-unknown) to send it again"
)

#: The message of a result for a call cancelled when the grace period after a stop
#: ran out (or at a second signal): the request may have reached CME.
CUT_SHORT = (
    "cancelled in flight when the run stopped (grace period over or a second signal); "
    "it may have run on CME. Not replay-safe: check, then rerun with retry_unknown=True "
    "(cme batch --resume --retry-unknown); replay-safe: a resume sends it again"
)
