"""Fixtures for the transport seam: both roads, the evil server, scrub checks."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest

from cme_async._transport import Transport, make_transport
from tests.transport.evil import EvilServer

# Characters that get percent-encoded, so both spellings are searched for.
TICKET = "tf_evil+ticket/0123456789abcdef=="
SIGNATURE = "sig+evil/signature0123456789ABCDEF=="
SECRETS = (TICKET, SIGNATURE, quote(TICKET, safe=""), quote(SIGNATURE, safe=""))
BODY = b'{"Platform":"1000000009"}'

# The classes that mean "nothing was sent" (safe to replay any action).
NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)
KINDS = ["httpx", "aiohttp"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def evil() -> AsyncIterator[EvilServer]:
    server = await EvilServer().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def transport(kind: str) -> AsyncIterator[Transport]:
    made, owned = make_transport(None, kind, max_connections=20)  # type: ignore[arg-type]
    assert owned is True
    try:
        yield made
    finally:
        await made.aclose()


async def failure_of(
    transport: Transport,
    url: str,
    *,
    login: bool = False,
    timeout: float = 5.0,
    max_bytes: int = 1 << 20,
) -> Exception:
    """The exception one exchange raises (the secret never sits in a local here)."""
    try:
        answer = await transport.send(
            "GET" if login else "POST",
            url,
            ("signature", SIGNATURE) if login else ("auth", TICKET),
            content=None if login else BODY,
            timeout=timeout,
            max_bytes=max_bytes,
        )
    except Exception as exc:
        return exc
    raise AssertionError(f"expected an error, got an answer with status {answer.status}")


def renderings(error: BaseException) -> list[str]:
    """Every way an app could print ``error``: str, repr, traceback, traceback with locals."""
    return [
        str(error),
        repr(error),
        "".join(traceback.format_exception(error)),
        "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format()),
    ]


def assert_scrubbed(error: BaseException) -> None:
    """No secret in any rendering of ``error`` or its chain; no chain; no request."""
    assert error.__cause__ is None
    assert error.__context__ is None
    assert error.__suppress_context__ is True
    if isinstance(error, httpx.RequestError):
        with pytest.raises(RuntimeError):
            error.request  # noqa: B018 - the property raises when no request is attached
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        for text in renderings(current):
            for secret in SECRETS:
                assert secret not in text, f"{secret!r} found in:\n{text}"
        stack += [current.__cause__, current.__context__]
