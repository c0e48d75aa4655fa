"""Turn whatever a transport raised into an error that is safe to let out.

A *scrubbed* error is a new instance of an httpx exception class (so the retry policy
and users' ``isinstance`` checks keep working) whose message has the secret masked,
with no ``.request`` (whose URL carries the secret), and which was never raised: the
transport raises it from its outermost frame after deleting the locals that hold the
secret, so no ``__cause__``, ``__context__`` or traceback frame leads back to it.

The class says whether the request may have reached the server (``_retry.classify``):
only failures before any byte of the request was written are "not sent".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from .._errors import EventLoopMismatchError
from .._redact import MASK, redact

__all__ = ["LOOP_MISMATCH", "mask", "scrub_aiohttp", "scrub_httpx"]

LOOP_MISMATCH = (
    "this HTTP connection pool belongs to another event loop{detail}. Use one client per "
    "event loop: create it (or the http_client you pass in) inside the loop that makes "
    "the calls, e.g. in the coroutine given to asyncio.run."
)


def mask(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (raw or percent-encoded) and every known secret masked."""
    if secret:
        text = text.replace(secret, MASK).replace(quote(secret, safe=""), MASK)
    return redact(text)


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _loop_error(error: BaseException) -> EventLoopMismatchError | None:
    """An ``EventLoopMismatchError`` for the RuntimeErrors asyncio raises across loops."""
    if isinstance(error, RuntimeError):
        text = str(error)
        if "attached to a different loop" in text or "different event loop" in text:
            return EventLoopMismatchError(LOOP_MISMATCH.format(detail=""))
        if "Event loop is closed" in text:
            return EventLoopMismatchError(
                LOOP_MISMATCH.format(detail=" (the loop it was opened on is closed)")
            )
    return None


def scrub_httpx(error: BaseException, secret: str | None) -> BaseException:
    """A scrubbed copy of an error raised by ``httpx.AsyncClient.send`` or its transport."""
    mismatch = _loop_error(error)
    if mismatch is not None:
        return mismatch
    message = mask(_describe(error), secret)
    if isinstance(error, httpx.TransportError):
        cls: type[httpx.TransportError] = type(error)
        try:
            return cls(message)
        except TypeError:  # a subclass with another constructor: keep the nearest base
            for base in cls.__mro__[1:]:
                if isinstance(base, type) and issubclass(base, httpx.TransportError):
                    try:
                        return base(message)
                    except TypeError:
                        continue
            return httpx.ReadError(message)  # pragma: no cover - TransportError itself fits
    if isinstance(error, httpx.InvalidURL):
        # Raised while building the request: nothing was sent.
        return httpx.UnsupportedProtocol(f"invalid URL: {message}")
    # Not an httpx error (a custom transport's own exception, say): nothing tells whether
    # the request went out, so say it may have.
    return httpx.ReadError(f"{type(error).__name__} from the transport: {message}")


def _aiohttp_class(error: BaseException) -> type[httpx.TransportError]:
    """The httpx class that tells the truth about an aiohttp failure.

    Only failures to *connect* are "not sent"; a dropped or reset connection after that
    is "may have run" (httpx-aiohttp maps a server disconnect to ``ConnectTimeout``, which
    would let a ``Create*`` be replayed; this mapping never does).
    """
    import aiohttp

    # Order matters: the most specific classes first.
    if isinstance(error, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return httpx.ProxyError
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout  # pool wait or connect: nothing was sent
    if isinstance(error, aiohttp.ClientConnectorError):
        return httpx.ConnectError  # DNS, refused, TLS handshake: nothing was sent
    if isinstance(error, aiohttp.SocketTimeoutError | aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError  # what httpcore raises for the same event
    if isinstance(error, aiohttp.ClientPayloadError):
        return httpx.ReadError
    if isinstance(error, aiohttp.ClientConnectionResetError):
        return httpx.WriteError
    if isinstance(error, aiohttp.NonHttpUrlClientError | aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol
    if isinstance(error, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError  # a malformed status line or header block
    if isinstance(error, TimeoutError):
        return httpx.ReadTimeout
    return httpx.ReadError


def scrub_aiohttp(error: BaseException, secret: str | None) -> BaseException:
    """A scrubbed httpx error for an exception raised by an ``aiohttp.ClientSession``."""
    if isinstance(error, httpx.TransportError):  # raised by the road itself
        return scrub_httpx(error, secret)
    mismatch = _loop_error(error)
    if mismatch is not None:
        return mismatch
    text: Any = _describe(error)
    # ClientResponseError's str() names the request URL; its message alone is enough.
    message = getattr(error, "message", None)
    if isinstance(message, str) and message and hasattr(error, "request_info"):
        text = f"{type(error).__name__}: {message}"
    elif type(error).__name__ not in text:
        text = f"{type(error).__name__}: {text}"
    return _aiohttp_class(error)(mask(text, secret))
