"""Each fault of the evil server on both roads: the error class, what it says about
"sent or not", and that no rendering of it carries the ticket or the signature."""

from __future__ import annotations

import asyncio
import socket
import time
import tracemalloc
from urllib.parse import quote

import httpx
import pytest

from cme_async._errors import MalformedResponseError
from cme_async._transport import Answer, Transport, make_transport
from tests.transport.conftest import (
    BODY,
    NOT_SENT,
    TICKET,
    assert_scrubbed,
    failure_of,
    renderings,
)
from tests.transport.evil import OK_BODY, SLOW_BYTES, SLOW_STEP, EvilServer


async def test_an_answer_carries_status_body_and_only_the_headers_read(
    transport: Transport, evil: EvilServer
) -> None:
    settled: list[int] = []
    answer = await transport.send(
        "POST",
        f"{evil.url}/ok",
        ("auth", TICKET),
        content=BODY,
        timeout=5,
        max_bytes=1 << 20,
        on_settled=lambda: settled.append(1),
    )
    assert isinstance(answer, Answer)
    assert answer.status == 200
    assert answer.content.startswith(b'{"Code": "Success"')
    assert dict(answer.headers) == {
        "x-request-id": "req-42",
        "retry-after": "3",
        "content-type": "application/json",
    }
    assert (answer.request_id, answer.retry_after, answer.content_type) == (
        "req-42",
        "3",
        "application/json",
    )
    assert settled == [1]
    [seen] = evil.requests
    assert seen.method == "POST"
    assert seen.target == f"/ok?auth={quote(TICKET, safe='')}"
    assert seen.body == BODY
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"].startswith("cme-async/")
    assert TICKET not in repr(answer)


async def test_a_login_is_a_get_with_the_signature_and_no_body(
    transport: Transport, evil: EvilServer
) -> None:
    answer = await transport.send(
        "GET", f"{evil.url}/ok", ("signature", "s+/="), content=None, timeout=5, max_bytes=1000
    )
    assert answer.status == 200
    [seen] = evil.requests
    assert (seen.method, seen.target, seen.body) == ("GET", "/ok?signature=s%2B%2F%3D", b"")


async def test_answers_reuse_one_kept_alive_connection(
    transport: Transport, evil: EvilServer
) -> None:
    for _ in range(5):
        answer = await transport.send(
            "POST", f"{evil.url}/ok", None, content=b"{}", timeout=5, max_bytes=1000
        )
        assert answer.status == 200
    assert evil.connections == 1
    assert [r.target for r in evil.requests] == ["/ok"] * 5


async def test_slowloris_ends_with_a_read_timeout_near_the_attempt_timeout(
    transport: Transport, evil: EvilServer
) -> None:
    # One byte every 0.4 s: a per-read timeout never fires and the answer would take
    # 24 s; the whole attempt is bounded by `timeout` instead.
    timeout = 1.0
    started = time.monotonic()
    error = await failure_of(transport, f"{evil.url}/slowloris", timeout=timeout)
    elapsed = time.monotonic() - started
    assert type(error) is httpx.ReadTimeout  # the request was sent: may have run
    assert not isinstance(error, NOT_SENT)
    assert_scrubbed(error)
    # Far below the 24 s the server would take (timing figures: the report/benchmarks).
    assert elapsed < SLOW_BYTES * SLOW_STEP / 4
    # The connection was closed, not kept: the server notices within a step or two.
    for _ in range(50):
        if evil.slow_closed_by_client:
            break
        await asyncio.sleep(0.1)
    assert evil.slow_closed_by_client


@pytest.mark.parametrize("path", ["/huge", "/huge-declared"])
async def test_a_huge_answer_is_refused_while_streaming_and_its_connection_closed(
    transport: Transport, evil: EvilServer, path: str
) -> None:
    limit = 1 << 20
    tracemalloc.start()
    try:
        error = await failure_of(transport, f"{evil.url}{path}", max_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, MalformedResponseError)
    assert f"exceeded max_bytes={limit}" in str(error)
    assert error.body_snippet == ""
    assert error.http_status == 200
    assert_scrubbed(error)
    # Memory stayed bounded: the whole process allocated far less than the 64 MB (or
    # the declared 300 MB) the server offers; this includes the server side too.
    assert peak < 16 * limit
    for _ in range(50):
        if evil.huge_closed_by_client:
            break
        await asyncio.sleep(0.1)
    assert evil.huge_closed_by_client  # the connection went down, not back to the pool
    assert evil.huge_bytes_sent < 32 * limit


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/deflate-raw"])
async def test_compressed_answers_are_decoded(
    transport: Transport, evil: EvilServer, path: str
) -> None:
    answer = await transport.send(
        "POST", f"{evil.url}{path}", None, content=b"{}", timeout=5, max_bytes=1000
    )
    assert answer.content == OK_BODY
    assert evil.requests[0].headers["accept-encoding"].startswith("gzip, deflate")


async def test_a_gzip_bomb_is_refused_while_inflating(
    transport: Transport, evil: EvilServer
) -> None:
    # 300 KB on the wire inflating to 300 MiB: never more than the bound is inflated.
    limit = 1 << 20
    tracemalloc.start()
    try:
        error = await failure_of(transport, f"{evil.url}/bomb", max_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, MalformedResponseError)
    assert f"exceeded max_bytes={limit}" in str(error)
    assert peak < 16 * limit


async def test_an_answer_of_exactly_max_bytes_is_accepted(
    transport: Transport, evil: EvilServer
) -> None:
    probe = await transport.send(
        "POST", f"{evil.url}/ok", None, content=b"{}", timeout=5, max_bytes=1 << 20
    )
    size = len(probe.content)
    answer = await transport.send(
        "POST", f"{evil.url}/ok", None, content=b"{}", timeout=5, max_bytes=size
    )
    assert answer.content == probe.content
    error = await failure_of(transport, f"{evil.url}/ok", max_bytes=size - 1)
    assert isinstance(error, MalformedResponseError)


async def test_a_malformed_status_line_may_have_run(transport: Transport, evil: EvilServer) -> None:
    error = await failure_of(transport, f"{evil.url}/malformed")
    assert type(error) is httpx.RemoteProtocolError
    assert_scrubbed(error)
    assert len(evil.requests) == 1  # it was received: never a connect error


async def test_a_disconnect_after_the_request_is_never_a_connect_error(
    transport: Transport, evil: EvilServer
) -> None:
    error = await failure_of(transport, f"{evil.url}/drop")
    assert type(error) in (httpx.RemoteProtocolError, httpx.ReadError)
    assert not isinstance(error, NOT_SENT)  # so a Create* is never replayed
    assert_scrubbed(error)
    assert len(evil.requests) == 1


async def test_a_refused_connection_was_not_sent(transport: Transport) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await failure_of(transport, f"http://127.0.0.1:{port}/x")
    assert type(error) is httpx.ConnectError
    assert_scrubbed(error)
    error = await failure_of(transport, f"http://127.0.0.1:{port}/", login=True)
    assert type(error) is httpx.ConnectError
    assert_scrubbed(error)


async def test_headers_later_than_the_timeout_are_a_read_timeout(
    transport: Transport, evil: EvilServer
) -> None:
    error = await failure_of(transport, f"{evil.url}/late", timeout=0.5)
    assert type(error) is httpx.ReadTimeout
    assert_scrubbed(error)
    assert len(evil.requests) == 1


async def test_a_redirect_is_returned_never_followed(
    transport: Transport, evil: EvilServer
) -> None:
    second = await EvilServer().start()
    first = await EvilServer(redirect_to=second.url).start()
    try:
        answer = await transport.send(
            "POST",
            f"{first.url}/redirect",
            ("auth", TICKET),
            content=BODY,
            timeout=5,
            max_bytes=1000,
        )
        assert answer.status == 307
        await asyncio.sleep(0.1)
        assert second.requests == []
        assert second.connections == 0
    finally:
        await first.stop()
        await second.stop()


async def test_a_users_client_that_follows_redirects_does_not_here(evil: EvilServer) -> None:
    second = await EvilServer().start()
    first = await EvilServer(redirect_to=second.url).start()
    user = httpx.AsyncClient(follow_redirects=True)
    transport, owned = make_transport(user)
    assert owned is False
    try:
        answer = await transport.send(
            "POST",
            f"{first.url}/redirect",
            ("auth", TICKET),
            content=BODY,
            timeout=5,
            max_bytes=1000,
        )
        assert answer.status == 307
        assert second.requests == []
    finally:
        await transport.aclose()
        assert not user.is_closed  # the user's client is theirs to close
        await user.aclose()
        await first.stop()
        await second.stop()


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:1/x", "gopher://example.invalid/x"])
async def test_an_unsupported_scheme_was_not_sent(transport: Transport, url: str) -> None:
    error = await failure_of(transport, url)
    assert type(error) is httpx.UnsupportedProtocol
    assert_scrubbed(error)


async def test_a_url_with_a_query_is_refused_before_sending(transport: Transport) -> None:
    error = await failure_of(transport, "http://127.0.0.1:1/PaaS/X/Y?auth=EVIL")
    assert type(error) is httpx.UnsupportedProtocol
    assert_scrubbed(error)


async def test_a_pool_wait_past_the_timeout_was_not_sent_and_never_goes_out(
    kind: str, evil: EvilServer
) -> None:
    # One connection, held by a slow exchange; the second waits for the pool, times out
    # as "not sent", and must then never reach the server, even once the pool frees up.
    transport, _ = make_transport(None, kind, max_connections=1)  # type: ignore[arg-type]
    try:
        first = asyncio.create_task(
            transport.send(
                "POST", f"{evil.url}/late", None, content=b"{}", timeout=10, max_bytes=100
            )
        )
        while not evil.requests:
            await asyncio.sleep(0.01)
        error = await failure_of(transport, f"{evil.url}/ok", timeout=0.3)
        assert isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout)
        assert_scrubbed(error)
        assert (await first).status == 200  # the pool frees up ...
        answer = await transport.send(
            "POST", f"{evil.url}/ok", None, content=b"{}", timeout=5, max_bytes=1000
        )
        assert answer.status == 200
        # ... and the abandoned request never arrived whole: only /late and the last /ok.
        assert [r.path for r in evil.requests] == ["/late", "/ok"]
    finally:
        await transport.aclose()


def test_the_scrub_check_catches_a_leaking_error() -> None:
    # The checks above can fail: an error as httpx raises it holds the ticket in its
    # request URL, its chain and its traceback locals.
    url = f"http://127.0.0.1/x?auth={quote(TICKET, safe='')}"
    request = httpx.Request("POST", url)
    try:
        try:
            raise OSError(f"cannot reach {url}")
        except OSError as exc:
            raise httpx.ConnectError("failed", request=request) from exc
    except httpx.ConnectError as exc:
        leaked = exc
    assert any(TICKET in text or quote(TICKET, safe="") in text for text in renderings(leaked))
    with pytest.raises(AssertionError):
        assert_scrubbed(leaked)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/malformed", httpx.RemoteProtocolError),
        ("/drop", httpx.RemoteProtocolError | httpx.ReadError),
        ("/late", httpx.ReadTimeout),
    ],
)
async def test_a_failed_login_exchange_never_shows_the_signature(
    transport: Transport, evil: EvilServer, path: str, expected: type
) -> None:
    error = await failure_of(transport, f"{evil.url}{path}", login=True, timeout=0.5)
    assert isinstance(error, expected)
    assert_scrubbed(error)
    seen = [r for r in evil.requests if r.method == "GET"]
    # aiohttp sends an idempotent GET once more when the connection drops (a login is
    # safe to replay); a POST never.
    assert 1 <= len(seen) <= 2
    assert seen[0].target.startswith(f"{path}?signature=")
