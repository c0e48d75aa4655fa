"""Test controls: ticket expiry, injected failures, latency, rate limits, counters,
and the same app served over TCP (including the /_emulator control endpoints)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from cme_async.testing import FakeCme

from .conftest import Api, make_signature


async def test_expire_tickets(api: Api, fake: FakeCme) -> None:
    assert await api.code("Team/DescribeJoinTeams") == "Success"
    other = Api(api.http, fake)
    await other.login(user_id="someone_else")
    assert fake.expire_tickets(user_id="demo_user") == 1
    envelope = await api.call("Team/DescribeJoinTeams")
    assert envelope["Code"] == "AuthFailure.SessionInvalid" and "Data" not in envelope
    assert await other.code("Team/DescribeJoinTeams") == "Success"
    await api.login()
    assert await api.code("Team/DescribeJoinTeams") == "Success"
    assert fake.expire_tickets() == 2
    assert fake.active_tickets() == []


async def test_missing_or_unknown_ticket(api: Api) -> None:
    assert await api.code("Team/DescribeJoinTeams", {}) == "Success"
    r = await api.raw("Team/DescribeJoinTeams", {}, ticket="")
    assert r.json()["Code"] == "AuthFailure.SessionInvalid"
    r = await api.raw("Team/DescribeJoinTeams", {}, ticket="tf_forged")
    assert r.json()["Code"] == "AuthFailure.SessionInvalid"


async def test_unknown_action_and_bad_bodies(api: Api) -> None:
    assert await api.code("Material/FlyToTheMoon", {}) == "InvalidAction"
    r = await api.http.post(
        "/PaaS/Material/DeleteMaterial", params={"auth": api.ticket}, content=b"{not json"
    )
    assert r.json()["Code"] == "InvalidParameter"
    r = await api.http.post("/PaaS/Material/DeleteMaterial", params={"auth": api.ticket}, json=[1])
    assert r.json()["Code"] == "InvalidParameter"
    assert (await api.http.get("/PaaS/Material/DeleteMaterial")).status_code == 405
    assert (await api.http.get("/elsewhere")).status_code == 404


async def test_fail_next_code_times_and_any_action(api: Api, fake: FakeCme) -> None:
    fake.fail_next("DescribeJoinTeams", code="InternalError", times=2)
    assert await api.code("Team/DescribeJoinTeams") == "InternalError"
    assert await api.code("Team/DescribeTeams", {"TeamIds": ["x"]}) == "Success"  # other action
    assert await api.code("Team/DescribeJoinTeams") == "InternalError"
    assert await api.code("Team/DescribeJoinTeams") == "Success"
    fake.fail_next(None, code="RequestLimitExceeded")
    assert await api.code("Team/DescribeTeams", {"TeamIds": ["x"]}) == "RequestLimitExceeded"
    assert fake.calls["Team/DescribeJoinTeams"] == 3


async def test_fail_next_http_status_malformed_and_drop(api: Api, fake: FakeCme) -> None:
    fake.fail_next("Team/DescribeJoinTeams", http_status=503, retry_after=2)
    r = await api.raw("Team/DescribeJoinTeams", {})
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    fake.fail_next("Team.DescribeJoinTeams", malformed=True)
    r = await api.raw("Team/DescribeJoinTeams", {})
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    fake.fail_next("DescribeJoinTeams", drop_connection=True)
    with pytest.raises(httpx.RemoteProtocolError):
        await api.raw("Team/DescribeJoinTeams", {})
    assert await api.code("Team/DescribeJoinTeams") == "Success"


async def test_fail_next_login(fake: FakeCme) -> None:
    fake.fail_next("Login", code="InternalError")
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        api = Api(http, fake)
        body = await api.login()
        assert body["Response"]["Error"]["Code"] == "InternalError"
        assert (await api.login())["Response"]["Authorization"]
    assert fake.login_attempts == 2 and fake.logins == 1


def test_fail_next_argument_checks(fake: FakeCme) -> None:
    with pytest.raises(ValueError):
        fake.fail_next("DeleteMaterial")
    with pytest.raises(ValueError):
        fake.fail_next("DeleteMaterial", code="X", malformed=True)
    with pytest.raises(ValueError):
        fake.fail_next("NoSuchAction", code="X")
    with pytest.raises(ValueError):
        fake.fail_next("DeleteMaterial", code="X", times=0)


async def test_latency_and_read_timeout(api: Api, fake: FakeCme) -> None:
    fake.latency(0.2, action="DescribeJoinTeams")
    start = time.perf_counter()
    assert await api.code("Team/DescribeJoinTeams") == "Success"
    assert time.perf_counter() - start >= 0.2
    start = time.perf_counter()
    assert await api.code("Team/DescribeTeams", {"TeamIds": ["x"]}) == "Success"
    assert time.perf_counter() - start < 0.2
    with pytest.raises(httpx.ReadTimeout):
        await api.http.post(
            "/PaaS/Team/DescribeJoinTeams", params={"auth": api.ticket}, json={}, timeout=0.05
        )
    fake.latency(0, action="DescribeJoinTeams")
    start = time.perf_counter()
    await api.code("Team/DescribeJoinTeams")
    assert time.perf_counter() - start < 0.2


async def test_rate_limit(api: Api, fake: FakeCme) -> None:
    fake.rate_limit("DescribeJoinTeams", per_second=2, burst=3)
    codes = [await api.code("Team/DescribeJoinTeams") for _ in range(5)]
    assert codes[:3] == ["Success"] * 3
    assert codes[3:] == ["RequestLimitExceeded"] * 2
    assert await api.code("Team/DescribeTeams", {"TeamIds": ["x"]}) == "Success"
    await asyncio.sleep(0.55)
    assert await api.code("Team/DescribeJoinTeams") == "Success"
    fake.rate_limit("DescribeJoinTeams", None)
    assert [await api.code("Team/DescribeJoinTeams") for _ in range(5)] == ["Success"] * 5


async def test_concurrent_calls_are_all_answered(api: Api, fake: FakeCme) -> None:
    results = await asyncio.gather(*(api.code("Team/DescribeJoinTeams") for _ in range(300)))
    assert results == ["Success"] * 300
    assert fake.calls["Team/DescribeJoinTeams"] == 300
    assert fake.internal_errors == []


async def test_over_tcp_with_control_endpoints(fake: FakeCme) -> None:
    async with fake.serve() as url, httpx.AsyncClient(base_url=url) as http:
        assert url.startswith("http://127.0.0.1:")
        login = (await http.get("/", params={"signature": make_signature()})).json()
        ticket = login["Response"]["Authorization"]

        async def call() -> httpx.Response:
            return await http.post("/PaaS/Team/DescribeJoinTeams", params={"auth": ticket}, json={})

        assert (await call()).json()["Code"] == "Success"
        r = await http.post(
            "/_emulator/fail-next", json={"Action": "DescribeJoinTeams", "DropConnection": True}
        )
        assert r.json() == {"Result": True}
        with pytest.raises(httpx.RemoteProtocolError):
            await call()
        await http.post(
            "/_emulator/fail-next", json={"Action": "DescribeJoinTeams", "HttpStatus": 502}
        )
        assert (await call()).status_code == 502
        r = await http.post("/_emulator/expire-tickets", json={})
        assert r.json() == {"Result": 1}
        assert (await call()).json()["Code"] == "AuthFailure.SessionInvalid"
        counters = (await http.get("/_emulator/counters")).json()
        assert counters["Logins"] == 1 and counters["Calls"]["Team/DescribeJoinTeams"] == 4
        r = await http.post("/_emulator/fail-next", json={"Action": "Nope", "Code": "X"})
        assert r.status_code == 400
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as again:
            await again.get(url)


async def test_remote_controls_drive_a_served_emulator(fake: FakeCme) -> None:
    from cme_async.testing import RemoteFakeCme

    async with fake.serve() as url, httpx.AsyncClient(base_url=url) as http:
        remote = RemoteFakeCme(url, http_client=http)
        ticket = (await http.get("/", params={"signature": make_signature()})).json()["Response"][
            "Authorization"
        ]
        await remote.fail_next("DescribeJoinTeams", code="InternalError", times=2)
        await remote.latency(0.05, action="DescribeTeams")
        await remote.rate_limit("DeleteTask", per_second=1, burst=1)
        assert fake.controls.rules[0].remaining == 2
        assert fake.controls.latencies == {"Team/DescribeTeams": 0.05}
        assert fake.controls.limits == {"Task/DeleteTask": (1.0, 1.0)}
        r = await http.post("/PaaS/Team/DescribeJoinTeams", params={"auth": ticket}, json={})
        assert r.json()["Code"] == "InternalError"
        assert await remote.expire_tickets("demo_user") == 1
        counters = await RemoteFakeCme(url).counters()
        assert counters["Calls"] == {"Team/DescribeJoinTeams": 1}
        with pytest.raises(ValueError):
            await remote.fail_next("NotAnAction", code="X")
