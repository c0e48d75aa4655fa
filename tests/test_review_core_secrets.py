"""Review of the secrets rule: a traceback rendered with its frames' locals (what
Sentry's "local variables" and ``TracebackException(capture_locals=True)`` do) neither
shows the secret key nor fails to render, whatever option was wrong."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import pytest

import cme_async
from cme_async._limits import LocalRateLimiter
from cme_async._tokens import MemoryTicketStore, TokenManager

KEY = "review-secret-key-0123456789abcdef"
ENV = {"CME_SECRET_ID": "AKIDreviewSecrets", "CME_SECRET_KEY": KEY}


def rendered(exc: BaseException) -> str:
    """The traceback with every frame's locals, as a crash reporter would show it."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def signer() -> cme_async.LocalSigner:
    return cme_async.LocalSigner("AKIDreviewSecrets", KEY, "1000000009")


async def _fail_login() -> None:
    pass


CASES: dict[str, Callable[[], object]] = {
    "signer without platform": lambda: cme_async.LocalSigner("AKIDx", KEY, ""),
    "signer with a bad expiry": lambda: cme_async.LocalSigner("AKIDx", KEY, "p", expire_seconds=0),
    "signer key not utf-8": lambda: cme_async.LocalSigner("AKIDx", KEY + "\udce9", "p"),
    "signer from env without platform": lambda: cme_async.LocalSigner.from_env(ENV),
    "client from env without platform": lambda: cme_async.AsyncCmeClient.from_env(ENV),
    "client from env with a bad url": lambda: cme_async.AsyncCmeClient.from_env(
        {**ENV, "CME_PLATFORM": "p", "CME_API_URL": "ftp://example.com"}
    ),
    "client with a bad timeout": lambda: cme_async.AsyncCmeClient(signer(), "u", timeout=-1),
    "client with a bad user id": lambda: cme_async.AsyncCmeClient(signer(), ""),
    "sign with a bad nonce": lambda: cme_async.sign(
        secret_id="AKIDx", secret_key=KEY, platform="p", user_id="u", nonce=-1
    ),
    "sign with an empty user": lambda: cme_async.sign(
        secret_id="AKIDx", secret_key=KEY, platform="p", user_id=""
    ),
    "sign with a key not utf-8": lambda: cme_async.sign(
        secret_id="AKIDx", secret_key=KEY + "\udce9", platform="p", user_id="u"
    ),
    "store with a bad size": lambda: MemoryTicketStore(max_tickets=0),
    "token manager with a bad ttl": lambda: TokenManager(_fail_login, ticket_ttl=-1),  # type: ignore[arg-type]
    "rate limiter with a bad rate": lambda: LocalRateLimiter(-1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_option_renders_with_locals_and_without_the_key(case: str) -> None:
    with pytest.raises((ValueError, TypeError)) as caught:
        CASES[case]()
    text = rendered(caught.value)  # must not raise (a repr of a half-built object did)
    assert KEY not in text


async def test_a_signer_whose_key_is_not_utf8_fails_at_construction() -> None:
    """A key read from the environment with a byte that is not UTF-8 (surrogateescape)
    used to fail inside the login, its UnicodeEncodeError carrying the whole key."""
    with pytest.raises(ValueError, match="secret_key") as caught:
        cme_async.LocalSigner("AKIDx", "abc\udce9" + KEY, "p")
    assert KEY not in repr(caught.value) + str(caught.value)


async def test_a_ticket_read_from_a_shared_store_is_masked_when_echoed() -> None:
    """Only tickets this process logged in for were remembered as secrets: one another
    process stored (Redis) and this one read, echoed raw in an error page, got through."""
    import asyncio

    from cme_async._tokens import Identity, Ticket

    ticket = "tf_from_another_process_0123456789abcdef"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                await reader.readexactly(int(line.split(b":")[1]))
        page = b"<html>upstream refused token " + ticket.encode() + b"</html>"
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: %d\r\n\r\n" % len(page) + page)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    class OtherProcesses(MemoryTicketStore):
        """Stands for a store shared with other processes (read through ``get``)."""

    store = OtherProcesses()
    await store.set(Identity(url, "1000000009", "u1").key, Ticket(ticket, "u1", platform=None))
    try:
        async with cme_async.AsyncCmeClient(
            signer(), "u1", api_url=url, login_url=url, ticket_store=store, max_retries=0
        ) as client:
            with pytest.raises(cme_async.CmeHTTPError) as caught:
                await client.call("Material", "DescribeClass", {})
    finally:
        server.close()
    assert "upstream refused" in str(caught.value)
    assert ticket not in str(caught.value) + caught.value.body_snippet
