"""The SDK on the aiohttp transport, against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

import cme_async

pytest.importorskip("aiohttp")
from aiohttp import web

PLATFORM = "1000000009"
TICKET = "tf_aiohttp_ticket_0123456789abcdef"
OK = {"Code": "Success", "Message": "成功", "EnglishMessage": "success"}

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class Target:
    """A local CME stand-in: records requests; per-path behaviour can be overridden."""

    def __init__(self) -> None:
        self.logins = 0
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.login_delay = 0.0
        self.overrides: dict[str, Handler] = {}
        self.port = 0
        self.runner: web.ServerRunner | None = None

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.method, request.path_qs, dict(request.headers), body))
        override = self.overrides.get(request.path)
        if override is not None:
            return await override(request)
        if request.method == "GET" and request.path == "/":
            self.logins += 1
            if self.login_delay:
                await asyncio.sleep(self.login_delay)
            return web.json_response(
                {
                    "Response": {
                        "AppId": 1,
                        "Authorization": TICKET,
                        "Platform": PLATFORM,
                        "RequestId": "login-1",
                        "TfUid": "u",
                    }
                }
            )
        if request.path == "/PaaS/Material/DescribeClass":
            return web.json_response({**OK, "Data": {"ClassInfoSet": [{"ClassId": 1}]}})
        return web.json_response(OK)

    def action_requests(self, path: str) -> list[tuple[str, str, dict[str, str], bytes]]:
        return [r for r in self.requests if r[1].split("?")[0] == path]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    state = Target()
    # No access log: the server side is not the SDK's and would print the ticket.
    runner = web.ServerRunner(web.Server(state.handle, access_log=None), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    state.runner = runner
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = cme_async.aiohttp_http_client(max_connections=50, timeout=5)
    try:
        yield client
    finally:
        await client.aclose()


def make_client(target: Target, http: httpx.AsyncClient, **kwargs: Any) -> cme_async.AsyncCmeClient:
    signer = cme_async.LocalSigner("AKIDtransportTest", "transport-secret-key-0123456789", PLATFORM)
    return cme_async.AsyncCmeClient(
        signer, "user_1", api_url=target.url, login_url=target.url, http_client=http, **kwargs
    )


def test_the_factory_returns_an_httpx_client_on_the_aiohttp_transport() -> None:
    client = cme_async.aiohttp_http_client(max_connections=7)
    assert isinstance(client, httpx.AsyncClient)
    transport = client._transport
    assert type(transport).__name__ == "AiohttpTransport"
    assert transport._max_connections == 7  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="max_connections"):
        cme_async.aiohttp_http_client(max_connections=0)


async def test_a_call_goes_over_aiohttp_with_the_ticket_and_the_json_body(
    target: Target, http: httpx.AsyncClient
) -> None:
    async with make_client(target, http) as client:
        data = await client.call(
            "Material", "DescribeClass", {"Platform": PLATFORM, "Owner": {"Type": "PERSON"}}
        )
        assert data == {"ClassInfoSet": [{"ClassId": 1}]}
        assert await client.call("Material", "DeleteMaterial", {"MaterialId": "m1"}) is None
    assert target.logins == 1
    method, path_qs, headers, body = target.action_requests("/PaaS/Material/DescribeClass")[0]
    assert method == "POST"
    assert path_qs == f"/PaaS/Material/DescribeClass?auth={TICKET}"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("cme-async/")
    assert json.loads(body) == {"Platform": PLATFORM, "Owner": {"Type": "PERSON"}}
    # The session made both calls over one kept-alive connection pool, and the SDK
    # did not close the client it was given.
    assert not http.is_closed


async def test_a_503_on_a_replay_safe_action_is_retried(
    target: Target, http: httpx.AsyncClient
) -> None:
    answers = iter([503, 200])

    async def flaky(request: web.BaseRequest) -> web.StreamResponse:
        status = next(answers)
        if status == 503:
            return web.Response(status=503, text="busy", headers={"Retry-After": "0"})
        return web.json_response({**OK, "Data": {"ClassInfoSet": []}})

    target.overrides["/PaaS/Material/DescribeClass"] = flaky
    retries: list[cme_async.RetryEvent] = []

    async def on_retry(event: cme_async.RetryEvent) -> None:
        retries.append(event)

    async with make_client(target, http, on_retry=on_retry) as client:
        data = await client.call("Material", "DescribeClass", {"Platform": PLATFORM})
    assert data == {"ClassInfoSet": []}
    assert len(target.action_requests("/PaaS/Material/DescribeClass")) == 2
    assert [(e.attempt, e.will_retry, e.reason) for e in retries] == [(1, True, "HTTP 503")]


async def test_a_dropped_connection_is_not_replayed_for_an_unsafe_action(
    target: Target, http: httpx.AsyncClient
) -> None:
    # The server reads the request and closes the connection without answering: the
    # request may have run, so CreateClass must not be sent again. (httpx-aiohttp maps
    # this to ConnectTimeout, "never sent", which would replay it.)
    async def drop(request: web.BaseRequest) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.05)
        return web.Response()

    target.overrides["/PaaS/Material/CreateClass"] = drop
    async with make_client(target, http) as client:
        with pytest.raises(cme_async.CmeConnectionError) as info:
            await client.call("Material", "CreateClass", {"Name": "x"})
    assert info.value.may_have_run is True
    assert info.value.attempts == 1
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert len(target.action_requests("/PaaS/Material/CreateClass")) == 1


async def test_a_refused_connection_is_a_connect_error(http: httpx.AsyncClient) -> None:
    # Nothing listens on this port: the request was never sent, which the retry policy
    # treats as safe to replay for any action.
    import socket

    from cme_async import _retry

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    signer = cme_async.LocalSigner("AKIDtransportTest", "transport-secret-key-0123456789", PLATFORM)
    async with cme_async.AsyncCmeClient(
        signer, "user_1", api_url=url, login_url=url, http_client=http, max_retries=0
    ) as client:
        with pytest.raises(cme_async.CmeConnectionError) as info:
            await client.call("Material", "CreateClass", {})
    cause = info.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert info.value.may_have_run is False
    assert _retry.classify(cause, replay_safe=False).verdict == "retry"


async def test_concurrent_first_calls_share_one_login(
    target: Target, http: httpx.AsyncClient
) -> None:
    target.login_delay = 0.05
    async with make_client(target, http) as client:
        results = await asyncio.gather(
            *(client.call("Material", "DeleteMaterial", {"MaterialId": str(i)}) for i in range(200))
        )
        assert client.tokens.login_count == 1
    assert results == [None] * 200
    assert target.logins == 1
    assert len(target.action_requests("/PaaS/Material/DeleteMaterial")) == 200


async def test_the_ticket_never_reaches_a_log_record(
    target: Target, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("cme_async", "httpx", "aiohttp", "aiohttp.client"):
        caplog.set_level(logging.DEBUG, logger=name)

    async def refuse(request: web.BaseRequest) -> web.StreamResponse:
        return web.json_response({"Code": "InvalidParameterValue.MaterialId", "Message": "x"})

    target.overrides["/PaaS/Material/DeleteMaterial"] = refuse
    async with make_client(target, http) as client:
        await client.call("Material", "DescribeClass", {})
        with pytest.raises(cme_async.InvalidParameterError) as info:
            await client.call("Material", "DeleteMaterial", {"MaterialId": "m1"})
    assert TICKET not in str(info.value)
    text = "\n".join(record.getMessage() for record in caplog.records)
    # The SDK logged both calls ...
    assert "Material/DescribeClass attempt=1 status=200" in text
    # ... on the native road, where no httpx request is built (so httpx logs nothing) ...
    assert not [r for r in caplog.records if r.name.startswith("httpx")]
    # ... and no record anywhere carries the ticket itself.
    assert TICKET not in text
    # aiohttp's own loggers carry the redaction filter too.
    guarded = logging.getLogger("aiohttp").filters
    assert any(isinstance(f, cme_async.RedactingFilter) for f in guarded)


async def test_respx_routes_still_mock_the_aiohttp_client(http: httpx.AsyncClient) -> None:
    # The native road bypasses httpx, so respx cannot see it; transport="httpx" keeps
    # the requests on httpx (over the same aiohttp session), where respx's "httpx"
    # mocker swaps the transport per request, whatever it is.
    api = "https://api.test"
    login = "https://login.test"
    with respx.mock(using="httpx", assert_all_called=True) as router:
        router.get(url__startswith=login).respond(
            json={"Response": {"Authorization": TICKET, "AppId": 1, "Platform": PLATFORM}}
        )
        action = router.post(f"{api}/PaaS/Material/DeleteMaterial").respond(json=OK)
        signer = cme_async.LocalSigner("AKIDtransportTest", "transport-secret-key-01234", PLATFORM)
        async with cme_async.AsyncCmeClient(
            signer, "user_1", api_url=api, login_url=login, http_client=http, transport="httpx"
        ) as client:
            assert await client.call("Material", "DeleteMaterial", {"MaterialId": "m"}) is None
    assert action.call_count == 1
    assert action.calls.last.request.url.params["auth"] == TICKET


async def test_a_cancellation_storm_strands_no_pool_slot(target: Target) -> None:
    # The storm that strands httpcore connections for good (tests/resilience): 5 waves of
    # 300 requests on a 20-connection pool, each cancelled at a random moment, straight
    # on the http client (no SDK shield). Afterwards 500 requests must all get through.
    import random

    async def slow(request: web.BaseRequest) -> web.StreamResponse:
        await asyncio.sleep(0.02)
        return web.json_response(OK)

    target.overrides["/slow"] = slow
    rng = random.Random(11)
    http = cme_async.aiohttp_http_client(max_connections=20, timeout=2)
    assert type(http._transport).cancel_safe is True  # type: ignore[attr-defined]
    url = f"{target.url}/slow"
    loop = asyncio.get_running_loop()
    try:
        for _ in range(5):
            tasks = [asyncio.create_task(http.post(url)) for _ in range(300)]
            for task in tasks:
                loop.call_later(rng.uniform(0, 0.08), task.cancel)
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            assert any(isinstance(o, asyncio.CancelledError) for o in outcomes)
            assert all(isinstance(o, httpx.Response | asyncio.CancelledError) for o in outcomes)
        answers = await asyncio.gather(*(http.post(url) for _ in range(500)))
        assert [a.status_code for a in answers] == [200] * 500
    finally:
        await http.aclose()


async def test_cookies_set_by_the_server_are_still_kept(
    target: Target, http: httpx.AsyncClient
) -> None:
    # The client skips httpx's cookie parsing only for answers without Set-Cookie.
    async def sets_cookie(request: web.BaseRequest) -> web.StreamResponse:
        response = web.json_response(OK)
        response.set_cookie("session", "s1")
        return response

    target.overrides["/cookie"] = sets_cookie
    assert (await http.get(f"{target.url}/PaaS/Material/DeleteMaterial")).status_code == 200
    assert dict(http.cookies) == {}
    await http.get(f"{target.url}/cookie")
    assert dict(http.cookies) == {"session": "s1"}
    assert isinstance(http._cookies, cme_async._aiohttp.SkipEmptyCookies)


def test_a_missing_aiohttp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    with pytest.raises(ImportError, match=r"pip install cme-async\[aiohttp\]"):
        cme_async.aiohttp_http_client()


def test_import_cme_async_does_not_import_aiohttp() -> None:
    code = (
        "import sys, cme_async; "
        "assert callable(cme_async.aiohttp_http_client); "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('aiohttp', 'httpx_aiohttp', 'yarl')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
