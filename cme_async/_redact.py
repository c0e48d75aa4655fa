"""Keep tickets, signatures and secret keys out of any text the SDK lets out.

Two layers: patterns for where secrets ride on the wire (``auth=``,
``signature=``, ``"Authorization": ...``) and an exact-match list of the
secret values this process has seen (registered by the signer and the token
manager), so a secret is masked wherever it ends up.
"""

from __future__ import annotations

import re
import threading
from contextvars import ContextVar, Token

MASK = "***"
_MAX_REMEMBERED = 512

# Query parameters carrying a ticket or a signature (raw or percent-encoded values).
_QUERY = re.compile(r"(?i)\b(auth|signature|verifysign)=([^&\s\"'<>]+)")
# JSON fields or reprs that hold them.
_FIELD = re.compile(
    r"(?i)([\"']?(?:Authorization|Signature|VerifySign|VodUploadSign|SecretKey|secret_key)"
    r"[\"']?\s*[:=]\s*[\"'])([^\"']+)"
)

_lock = threading.Lock()
_secrets: dict[str, None] = {}
# The secret this task's exchange is sending (its ticket or its signature). The list above
# forgets the oldest past 512: a web app with more users than that would otherwise mask
# an old user's ticket, echoed in an error page, by the wire patterns alone.
_in_use: ContextVar[str | None] = ContextVar("cme_async_secret_in_use", default=None)


def use_secret(value: str) -> Token[str | None]:
    """Mask ``value`` in whatever this task redacts until ``release_secret``."""
    return _in_use.set(value)


def release_secret(token: Token[str | None]) -> None:
    _in_use.reset(token)


def register_secret(value: str) -> None:
    """Remember ``value`` so that ``redact`` masks it anywhere it appears."""
    if len(value) < 6:  # too short to search for safely; patterns still apply
        return
    with _lock:
        _secrets.pop(value, None)
        _secrets[value] = None
        while len(_secrets) > _MAX_REMEMBERED:
            del _secrets[next(iter(_secrets))]


def redact(text: str) -> str:
    """Return ``text`` with every known secret and secret-bearing field masked."""
    text = _QUERY.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _FIELD.sub(lambda m: f"{m.group(1)}{MASK}", text)
    current = _in_use.get()
    if current and current in text:
        text = text.replace(current, MASK)
    if _secrets:
        with _lock:
            known = list(_secrets)
        for secret in known:
            if secret in text:
                text = text.replace(secret, MASK)
    return text


def mask(value: str | None) -> str:
    """A short, non-reversible hint of a secret for reprs: ``tf_a…(40 chars)``."""
    if not value:
        return repr(value)
    return f"'{value[:3]}…({len(value)} chars)'"
