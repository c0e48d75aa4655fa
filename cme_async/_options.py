"""Checks of what a user configures, each failing early with an error that names the fix.

Numbers (timeouts, deadlines, retries), endpoint URLs, signers, action names and
request bodies. Nothing here does I/O.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._errors import InvalidRequestError

_ACTION_PART = re.compile(r"[A-Z][A-Za-z0-9]*")
# Anything but printable ASCII: whitespace, control characters, DEL, non-ASCII.
_NOT_URL_CHAR = re.compile(r"[^\x21-\x7e]")
# One encoder for every call (json.dumps with options builds a JSONEncoder each time).
# allow_nan=False: NaN and Infinity are not JSON, and CME would refuse or misread them.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_EMPTY_BODY = b"{}"


def positive(value: object, name: str, unit: str) -> float:
    """A finite positive number (NaN, infinities and booleans refused), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite positive number of {unit}, got {value!r}")
    return float(value)


def seconds(value: object, name: str, *, allow_none: bool = True) -> float | None:
    """A finite positive number of seconds (or None when allowed)."""
    if value is None and allow_none:
        return None
    return positive(value, name, "seconds")


def attempt_timeout(value: float | httpx.Timeout | None) -> float:
    """The bound on one whole attempt, from connect to the last byte.

    An ``httpx.Timeout`` (accepted for compatibility) counts as its longest phase.
    """
    if isinstance(value, httpx.Timeout):
        phases = [t for t in (value.connect, value.read, value.write, value.pool) if t]
        if not phases:
            raise ValueError("timeout must set at least one phase of the httpx.Timeout")
        value = max(phases)
    result = seconds(value, "timeout", allow_none=False)
    assert result is not None
    return result


def user_id(value: object) -> str:
    """A user id: non-empty text that encodes as UTF-8 (it is signed and keys tickets)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"user_id must be a non-empty string, got {value!r}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problem = "holds a lone surrogate, which is not valid UTF-8"
            raise ValueError(
                f"user_id {value!r} {problem} (decode the id from bytes with errors='strict')"
            ) from None
    return value


def retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be a non-negative int, got {value!r}")
    return value


def max_bytes(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_response_bytes must be a positive int, got {value!r}")
    return value


def replay_safe(value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"replay_safe must be True, False or None, got {value!r}")
    return value


def _insecure_ok(host: str) -> bool:
    """Hosts a clear-text ticket may travel to: this machine, or a name that never resolves."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".invalid")):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(url: object, name: str, *, allow_insecure: bool = False) -> str:
    """``scheme://host[:port][/path]`` checked: tickets ride in its query string."""
    if not isinstance(url, str) or not url:
        raise TypeError(f"{name} must be a URL string such as 'https://host', got {url!r}")
    odd = _NOT_URL_CHAR.search(url)
    if odd is not None:
        # urlsplit silently drops tabs and line breaks, and the native road sends the
        # URL as it is: a space or a line break would end up inside the request line.
        raise ValueError(
            f"{name} contains {odd.group()!r} at position {odd.start()}: a URL is printable "
            "ASCII without spaces (percent-encode the path; an international host name "
            "in its xn-- form)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"{name}={url!r} needs a scheme and a host, e.g. 'https://{url.split('://')[-1]}' "
            "(or 'http://127.0.0.1:8765' for a local emulator)"
        )
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError(f"{name} must not have a query string or fragment: the SDK adds its own")
    if parts.username or parts.password:
        raise ValueError(f"{name} must not carry credentials")
    host = parts.hostname or ""
    if parts.scheme == "http" and not allow_insecure and not _insecure_ok(host):
        raise ValueError(
            f"{name} uses http:// to {host!r}: tickets ride in the query string and would cross "
            "the network in clear text. Use https://, or pass allow_insecure=True if you must."
        )
    return url.rstrip("/")


def signer(value: Any) -> None:
    if not callable(value):
        raise TypeError(
            "signer must be an async function: `async def signer(user_id: str) -> str` "
            "returning a Login signature, or a cme_async.LocalSigner"
        )
    plain = inspect.isfunction(value) or inspect.ismethod(value)  # not a callable object
    if plain and not inspect.iscoroutinefunction(value):
        raise TypeError(
            f"signer {getattr(value, '__name__', value)!r} is a plain function; it must be "
            "`async def signer(user_id: str) -> str` (await your backend inside it)"
        )


@functools.lru_cache(maxsize=1024)
def _is_action_part(value: str) -> bool:
    return _ACTION_PART.fullmatch(value) is not None


def action_part(value: object, name: str) -> str:
    if not isinstance(value, str) or not _is_action_part(value):
        raise InvalidRequestError(
            f"{name} must match ^[A-Z][A-Za-z0-9]*$ (e.g. 'Material', 'SearchMaterial'), "
            f"got {value!r}",
            action=None,
        )
    return value


def encode_body(body: object, action: str) -> bytes:
    """The request body as JSON bytes, or ``InvalidRequestError`` saying what is wrong."""
    if body is None:
        return _EMPTY_BODY
    if not isinstance(body, Mapping):
        raise InvalidRequestError(
            f"the body must be a mapping of wire field names (a dict), got {type(body).__name__}",
            action=action,
        )
    if not body:
        return _EMPTY_BODY
    try:
        return _encode(body).encode("utf-8")
    except RecursionError:
        problem = "it is nested too deeply or refers to itself"
    except UnicodeEncodeError:
        problem = "a string holds a lone surrogate, which is not valid UTF-8"
    except ValueError as exc:  # NaN/Infinity, circular references
        problem = str(exc)
    except TypeError as exc:  # bytes, sets, objects
        problem = str(exc)
    raise InvalidRequestError(
        f"the body cannot be sent as JSON: {problem}; nothing was sent",
        action=action,
    )


def platform_of(signer: object, platform: str | None) -> str:
    found = getattr(signer, "platform", None)
    if platform is not None:
        if not isinstance(platform, str) or not platform:
            raise ValueError(f"platform must be a non-empty string, got {platform!r}")
        if isinstance(found, str) and found and found != platform:
            raise ValueError(
                f"platform={platform!r} differs from the signer's platform {found!r}; "
                "tickets are keyed by platform, so give one"
            )
        return platform
    if isinstance(found, str) and found:
        return found
    raise ValueError(
        "AsyncCmeClient needs the CME platform, which keys every ticket: pass "
        "platform='<your platform id>', or use a signer that has a `platform` attribute "
        "(cme_async.LocalSigner has one; on your own signer function set "
        "`signer.platform = '...'`)"
    )
