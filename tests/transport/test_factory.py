"""make_transport: which road for which arguments, who owns the pool, respx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

import cme_async
from cme_async._cookies import SkipEmptyCookies
from cme_async._errors import MalformedResponseError
from cme_async._transport import HttpxTransport, Transport, make_transport
from cme_async._transport._aiohttp import NativeAiohttpTransport
from tests.transport.conftest import BODY, TICKET, assert_scrubbed, failure_of
from tests.transport.evil import EvilServer


@pytest.fixture
async def aiohttp_client() -> AsyncIterator[httpx.AsyncClient]:
    client = cme_async.aiohttp_http_client(max_connections=7)
    yield client
    await client.aclose()


async def test_the_default_is_httpx_on_a_pool_the_sdk_builds() -> None:
    transport, owned = make_transport()
    assert isinstance(transport, HttpxTransport)
    assert isinstance(transport, Transport)
    assert owned is True and transport.owned is True
    client = transport.client
    assert client.follow_redirects is False
    assert isinstance(client._cookies, SkipEmptyCookies)
    await transport.aclose()
    assert client.is_closed


async def test_aiohttp_builds_a_native_road_on_its_own_session() -> None:
    transport, owned = make_transport(None, "aiohttp", max_connections=9)
    assert isinstance(transport, NativeAiohttpTransport)
    assert isinstance(transport, Transport)
    assert owned is True
    assert transport.pool.max_connections == 9
    await transport.aclose()
    assert transport.pool.is_closed


async def test_a_users_httpx_client_is_used_as_given_and_never_closed() -> None:
    user = httpx.AsyncClient()
    transport, owned = make_transport(user)
    assert isinstance(transport, HttpxTransport)
    assert owned is False and transport.client is user
    await transport.aclose()
    assert not user.is_closed
    await user.aclose()


async def test_a_client_from_aiohttp_http_client_selects_the_native_road(
    aiohttp_client: httpx.AsyncClient, evil: EvilServer
) -> None:
    transport, owned = make_transport(aiohttp_client)
    assert isinstance(transport, NativeAiohttpTransport)
    assert owned is False
    assert transport.pool is aiohttp_client._transport
    # Both roads share the client's one session and pool: one kept-alive connection.
    answer = await transport.send(
        "POST", f"{evil.url}/ok", ("auth", TICKET), content=BODY, timeout=5, max_bytes=1000
    )
    assert answer.status == 200
    assert (await aiohttp_client.post(f"{evil.url}/ok")).status_code == 200
    assert evil.connections == 1
    await transport.aclose()
    assert not aiohttp_client.is_closed  # the user's client stays theirs
    assert (await aiohttp_client.post(f"{evil.url}/ok")).status_code == 200


async def test_httpx_over_an_aiohttp_client_when_asked(
    aiohttp_client: httpx.AsyncClient, evil: EvilServer
) -> None:
    transport, owned = make_transport(aiohttp_client, "httpx")
    assert isinstance(transport, HttpxTransport)
    assert owned is False
    answer = await transport.send(
        "POST", f"{evil.url}/ok", ("auth", TICKET), content=BODY, timeout=5, max_bytes=1000
    )
    assert answer.status == 200
    assert answer.request_id == "req-42"
    error = await failure_of(transport, f"{evil.url}/huge", max_bytes=1000)
    assert isinstance(error, MalformedResponseError)
    error = await failure_of(transport, f"{evil.url}/drop")
    assert type(error) is httpx.RemoteProtocolError
    assert_scrubbed(error)
    await transport.aclose()


async def test_bad_combinations_are_refused_with_the_fix() -> None:
    user = httpx.AsyncClient()
    with pytest.raises(ValueError, match=r"aiohttp_http_client\(\)"):
        make_transport(user, "aiohttp")
    with pytest.raises(ValueError, match="httpx"):
        make_transport(None, "curl")  # type: ignore[arg-type]
    own, _ = make_transport()
    with pytest.raises(ValueError, match="not both"):
        make_transport(user, own)
    given, owned = make_transport(None, own)
    assert given is own and owned is False
    await own.aclose()
    await user.aclose()


async def test_respx_mocks_the_httpx_road() -> None:
    transport, _ = make_transport()
    try:
        with respx.mock(assert_all_called=True) as router:
            route = router.post("https://api.test/PaaS/Material/DescribeClass").respond(
                200, json={"Code": "Success"}, headers={"X-Request-Id": "r-1"}
            )
            answer = await transport.send(
                "POST",
                "https://api.test/PaaS/Material/DescribeClass",
                ("auth", TICKET),
                content=BODY,
                timeout=5,
                max_bytes=1000,
            )
        assert answer.status == 200
        assert answer.request_id == "r-1"
        request = route.calls.last.request
        assert request.url.params["auth"] == TICKET
        assert request.content == BODY
        assert request.headers["content-type"] == "application/json"
    finally:
        await transport.aclose()


async def test_a_respx_error_is_scrubbed_and_keeps_its_class() -> None:
    transport, _ = make_transport()
    try:
        with respx.mock() as router:
            router.post(url__startswith="https://api.test/").mock(
                side_effect=httpx.ConnectError("refused")
            )
            error = await failure_of(transport, "https://api.test/PaaS/X/Y")
        assert type(error) is httpx.ConnectError
        assert_scrubbed(error)
    finally:
        await transport.aclose()


async def test_a_slow_respx_route_times_out_as_may_have_run() -> None:
    # respx reads the request body, so the road knows the request went out.
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    transport, _ = make_transport()
    try:
        # (respx records a call only when its answer is returned: never, here.)
        with respx.mock(assert_all_called=False) as router:
            router.post(url__startswith="https://api.test/").mock(side_effect=slow)
            error = await failure_of(transport, "https://api.test/PaaS/X/Y", timeout=0.2)
        assert type(error) is httpx.ReadTimeout
        assert_scrubbed(error)
    finally:
        await transport.aclose()


async def test_an_unknown_httpx_transport_times_out_as_may_have_run() -> None:
    # A MockTransport never iterates the body stream: the road cannot tell whether the
    # request went out, so it says it may have.
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    user = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    transport, _ = make_transport(user)
    assert isinstance(transport, HttpxTransport) and transport.phase_aware is False
    error = await failure_of(transport, "https://api.test/PaaS/X/Y", timeout=0.2)
    assert type(error) is httpx.ReadTimeout
    await transport.aclose()
    await user.aclose()


async def test_a_proxy_from_the_environment_is_used_by_both_roads(
    kind: str, evil: EvilServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An http:// proxy sees the whole request line, query string (ticket) included:
    # docs/security.md says so. Here the evil server plays the proxy.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", evil.url)
    monkeypatch.setenv("http_proxy", evil.url)
    transport, _ = make_transport(None, kind)  # type: ignore[arg-type]
    try:
        answer = await transport.send(
            "POST", "http://cme.invalid/PaaS/X/Y", None, content=b"{}", timeout=5, max_bytes=100
        )
        assert answer.status == 404  # the "proxy" does not know that path
        [seen] = evil.requests
        assert seen.target == "http://cme.invalid/PaaS/X/Y"
    finally:
        await transport.aclose()


async def test_answers_built_in_memory_by_a_mock_transport_are_read() -> None:
    # A MockTransport (and respx's "httpx" mocker, and the emulator's in-process
    # transport) hands back an answer httpx has already read and decoded.
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"Code": "Success"}, headers={"X-Request-Id": "m-1"})

    user = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    transport, _ = make_transport(user)
    result = await transport.send(
        "POST",
        "https://api.test/PaaS/X/Y",
        ("auth", TICKET),
        content=BODY,
        timeout=5,
        max_bytes=1000,
    )
    assert (result.status, result.content, result.request_id) == (200, b'{"Code":"Success"}', "m-1")
    error = await failure_of(transport, "https://api.test/PaaS/X/Y", max_bytes=5)
    assert isinstance(error, MalformedResponseError)
    await transport.aclose()
    await user.aclose()
