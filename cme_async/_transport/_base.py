"""The transport seam: one HTTP exchange, as the call road and the login need it.

``Transport.send`` takes a method, a URL without query, the one secret query parameter
(the ticket ``auth=`` or the login ``signature=``), the body bytes, a timeout for the
whole attempt and a bound on the answer's size, and returns an ``Answer``: the status,
the whole body and the few headers the SDK reads. Nothing on the road above needs an
``httpx.Request`` or ``httpx.Response``.

What ``send`` raises, and what it tells the retry policy:

==========================================  =================================================
``httpx.ConnectError``, ``ConnectTimeout``,  nothing was sent (safe to replay any action);
``PoolTimeout``, ``UnsupportedProtocol``,    a timeout while waiting for a pooled connection
``ProxyError``                               or connecting is ``ConnectTimeout``/``PoolTimeout``
``httpx.ReadTimeout``, ``WriteTimeout``,     the request may have reached the server (a server
``RemoteProtocolError``, ``ReadError``,      disconnect after the request is never a connect
``WriteError``, ``LocalProtocolError``       error); an unknown failure is ``ReadError``
``ResponseTooLargeError``                    the answer exceeded ``max_bytes``; the connection
(a ``MalformedResponseError``)               was closed, no body kept (``action`` is None)
``EventLoopMismatchError``                   the pool belongs to another event loop; nothing
                                             was sent
``ClientClosedError``                        ``aclose()`` came first or during the exchange
``asyncio.CancelledError``                   the caller was cancelled
==========================================  =================================================

Every httpx error raised here is *scrubbed*: its message has the secret masked, it has
no ``.request``, no ``__cause__``/``__context__``, and its traceback passes through no
frame whose locals hold the secret or a URL carrying it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal, Protocol, runtime_checkable

__all__ = ["READ_HEADERS", "Answer", "Method", "OnSettled", "Secret", "Transport"]

Method = Literal["GET", "POST"]
#: ``(name, value)`` of the one secret query parameter, appended by the transport.
Secret = tuple[str, str]
OnSettled = Callable[[], None]

#: The only answer headers the SDK reads (lower-case); transports keep these and drop the rest.
READ_HEADERS = ("x-request-id", "retry-after", "content-type")


class Answer:
    """One HTTP answer: status, the whole body (read once), the few headers the SDK reads."""

    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, content: bytes, headers: Mapping[str, str]) -> None:
        self.status = status
        self.content = content
        #: Only ``READ_HEADERS`` that were present, with lower-case keys.
        self.headers = headers

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    @property
    def retry_after(self) -> str | None:
        """The raw ``Retry-After`` value (``_retry.parse_retry_after(answer.headers)`` reads it)."""
        return self.headers.get("retry-after")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def __repr__(self) -> str:
        return f"<Answer status={self.status} bytes={len(self.content)} headers={self.headers!r}>"


@runtime_checkable
class Transport(Protocol):
    """One HTTP exchange at a time, many at once; see the module docstring for errors."""

    #: True when cancelling ``send()`` can never strand a pooled connection.
    cancel_safe: bool

    async def send(
        self,
        method: Method,
        url: str,
        secret: Secret | None,
        *,
        content: bytes | None,
        timeout: float,
        max_bytes: int,
        on_settled: OnSettled | None = None,
    ) -> Answer:
        """One exchange.

        Args:
            method: ``"GET"`` or ``"POST"``.
            url: ``scheme://host[:port]/path`` with no query.
            secret: ``(name, value)`` sent as ``?name=<percent-encoded value>``, or None.
            content: the body (sent with ``Content-Type: application/json``), or None.
            timeout: seconds for the whole attempt, from pool wait to the last byte.
            max_bytes: the largest answer body accepted; past it the connection is
                closed and ``MalformedResponseError`` raised.
            on_settled: called exactly once per call of ``send`` (whatever it returns or
                raises), when the exchange has really ended: also when the caller was
                cancelled and the exchange finished in the background. Pass the release
                of a concurrency slot so that orphaned exchanges keep counting.
        """
        ...

    async def aclose(self) -> None:
        """Close what the transport owns; wait for (or cancel) background exchanges."""
        ...
