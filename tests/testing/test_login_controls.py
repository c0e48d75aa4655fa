"""Login controls (latency, failures with Retry-After), per-user expiry, seeded random expiry."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from cme_async.testing import DEMO_USER_ID, FakeCme, RemoteFakeCme

from .conftest import Api, make_signature

JOIN = "Team/DescribeJoinTeams"


async def _login(
    http: httpx.AsyncClient, user: str = DEMO_USER_ID, timeout: float = 10.0
) -> httpx.Response:
    return await http.get("/", params={"signature": make_signature(user_id=user)}, timeout=timeout)


async def test_fail_next_login_answers_the_login_error_shape_with_retry_after(
    fake: FakeCme,
) -> None:
    fake.fail_next_login(code="RequestLimitExceeded", retry_after=2, times=2)
    fake.fail_next_login()  # InternalError by default
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        for expected in ("RequestLimitExceeded", "RequestLimitExceeded", "InternalError"):
            r = await _login(http)
            body = r.json()
            assert set(body["Response"]) == {"Error", "RequestId"}
            assert body["Response"]["Error"]["Code"] == expected
            assert (r.headers.get("retry-after") == "2") is (expected != "InternalError")
        assert (await _login(http)).json()["Response"]["Authorization"]
    assert (fake.logins, fake.login_attempts) == (1, 4)
    # The refused attempts are logged with the identity the signature named.
    codes = [(r.user_id, r.code) for r in fake.requests_for("Login")]
    assert codes == [(DEMO_USER_ID, "RequestLimitExceeded")] * 2 + [
        (DEMO_USER_ID, "InternalError"),
        (DEMO_USER_ID, "Success"),
    ]


async def test_fail_next_login_with_http_status_and_legacy_shape() -> None:
    fake = FakeCme.seeded(login_shape="legacy")
    fake.fail_next_login(http_status=502)
    fake.fail_next_login(code="InternalError")
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        assert (await _login(http)).status_code == 502
        assert (await _login(http)).json()["Code"] == "InternalError"


async def test_login_latency_holds_the_answer(fake: FakeCme) -> None:
    fake.login_latency(30)
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        with pytest.raises(httpx.ReadTimeout):
            await _login(http, timeout=0.05)
        # Actions are not delayed by a login latency.
        fake.login_latency(0)
        api = Api(http, fake)
        await api.login()
        fake.login_latency(30)
        assert await api.code(JOIN) == "Success"
        pending = asyncio.create_task(_login(http))
        await asyncio.sleep(0.05)
        assert not pending.done()
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
    assert fake.controls.latencies == {"Login": 30}


async def test_expire_tickets_per_user(fake: FakeCme) -> None:
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        users = {u: Api(http, fake) for u in ("a", "b", "c")}
        for user, api in users.items():
            await api.login(user_id=user)
        assert fake.expire_tickets(user_id="b") == 1
        assert fake.expire_tickets(user_id="b") == 0
        codes = {u: await api.code(JOIN) for u, api in users.items()}
    assert codes == {"a": "Success", "b": "AuthFailure.SessionInvalid", "c": "Success"}
    assert (fake.expiries_for("a"), fake.expiries_for("b")) == (0, 1)


async def _run_random(fake: FakeCme, calls: int = 60) -> list[str]:
    """One user calling; after each refusal, a new login (what the SDK does)."""
    outcomes = []
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        api = Api(http, fake)
        await api.login()
        for _ in range(calls):
            code = await api.code(JOIN)
            outcomes.append(code)
            if code != "Success":
                await api.login()
    return outcomes


async def test_random_expiry_is_reproducible_and_counted() -> None:
    runs = []
    for _ in range(2):
        fake = FakeCme.seeded()
        fake.expire_randomly(0.2, seed=42)
        outcomes = await _run_random(fake)
        runs.append(outcomes)
        refused = outcomes.count("AuthFailure.SessionInvalid")
        assert 0 < refused < len(outcomes)
        assert fake.expiries_for(DEMO_USER_ID) == refused
        assert fake.logins_for(DEMO_USER_ID) == refused + 1
        expired = [r for r in fake.requests_for(JOIN) if r.ticket == "expired"]
        assert len(expired) == refused and all(r.user_id == DEMO_USER_ID for r in expired)
    assert runs[0] == runs[1]
    other = FakeCme.seeded()
    other.expire_randomly(0.2, seed=7)
    assert await _run_random(other) != runs[0]


async def test_random_expiry_spares_fresh_tickets_and_other_users() -> None:
    fake = FakeCme.seeded()
    fake.expire_randomly(1.0, seed=1, min_uses=2)
    outcomes = await _run_random(fake, calls=9)
    # Every ticket serves exactly two calls, then the third presentation ends it.
    assert outcomes == ["Success", "Success", "AuthFailure.SessionInvalid"] * 3
    fake.expire_randomly(1.0, seed=1, users=["somebody_else"])
    assert await _run_random(fake, calls=5) == ["Success"] * 5
    fake.expire_randomly(0)
    assert fake.controls.random_expiry is None
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError):
            fake.expire_randomly(bad)
    with pytest.raises(ValueError):
        fake.expire_randomly(0.5, min_uses=-1)


async def test_login_controls_over_tcp(fake: FakeCme) -> None:
    async with fake.serve() as url, httpx.AsyncClient(base_url=url) as http:
        remote = RemoteFakeCme(url, http_client=http)
        await remote.fail_next_login(code="RequestLimitExceeded", retry_after=1.5)
        r = await _login(http)
        assert r.json()["Response"]["Error"]["Code"] == "RequestLimitExceeded"
        assert r.headers["retry-after"] == "1.5"
        await remote.login_latency(0.01)
        assert fake.controls.latencies == {"Login": 0.01}
        await remote.login_latency(0)
        await remote.expire_randomly(1.0, seed=3, min_uses=1, users=["x"])
        rx = fake.controls.random_expiry
        assert rx is not None and rx.users == frozenset({"x"}) and rx.min_uses == 1
        ticket = (await _login(http, "x")).json()["Response"]["Authorization"]
        codes = [
            (await http.post(f"/PaaS/{JOIN}", params={"auth": ticket}, json={})).json()["Code"]
            for _ in range(2)
        ]
        assert codes == ["Success", "AuthFailure.SessionInvalid"]
        assert await remote.expiries_for("x") == 1
        await remote.expire_randomly(0)
        assert fake.controls.random_expiry is None


async def _codes(fake: FakeCme, n: int, action: str = JOIN) -> list[str]:
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        api = Api(http, fake)
        await api.login()
        return [(await api.raw(action, {})).json()["Code"] for _ in range(n)]


async def test_fail_randomly_is_seeded_and_per_action() -> None:
    runs = []
    for _ in range(2):
        fake = FakeCme.seeded()
        fake.fail_randomly(0.3, JOIN, seed=5, code="RequestLimitExceeded")
        runs.append(await _codes(fake, 50))
        assert await _codes(fake, 5, "Team/DescribeTeams") == ["MissingParameter"] * 5
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"Success", "RequestLimitExceeded"}
    failed = runs[0].count("RequestLimitExceeded")
    assert 0 < failed < 50
    fake.fail_randomly(0, JOIN)
    assert await _codes(fake, 10) == ["Success"] * 10


async def test_fail_randomly_any_request_with_http_status_over_tcp(fake: FakeCme) -> None:
    async with fake.serve() as url, httpx.AsyncClient(base_url=url) as http:
        remote = RemoteFakeCme(url, http_client=http)
        await remote.fail_randomly(1.0, "DescribeJoinTeams", http_status=503, retry_after=1)
        ticket = (await _login(http)).json()["Response"]["Authorization"]
        r = await http.post(f"/PaaS/{JOIN}", params={"auth": ticket}, json={})
        assert (r.status_code, r.headers["retry-after"]) == (503, "1")
        assert fake.requests[-1].outcome == "HTTP 503"
        await remote.fail_randomly(0, "DescribeJoinTeams")
        await remote.fail_randomly(1.0)  # any request, InternalError
        r = await http.post(f"/PaaS/{JOIN}", params={"auth": ticket}, json={})
        assert r.json()["Code"] == "InternalError"
        await remote.reset_controls()
        assert not fake.controls.random_faults
        with pytest.raises(ValueError):
            await remote.fail_randomly(2.0)


async def test_a_client_that_gives_up_mid_login_leaves_the_server_serving(fake: FakeCme) -> None:
    """What a process killed during its login looks like to the emulator over TCP."""
    async with fake.serve() as url, httpx.AsyncClient(base_url=url) as http:
        fake.login_latency(0.3)
        with pytest.raises(httpx.ReadTimeout):
            await _login(http, "crashed", timeout=0.05)
        assert fake.login_attempts == 1
        for _ in range(200):  # the abandoned login still completes on the server
            if fake.requests_for("Login", user_id="crashed"):
                break
            await asyncio.sleep(0.01)
        assert [r.code for r in fake.requests_for("Login", user_id="crashed")] == ["Success"]
        fake.login_latency(0)
        assert (await _login(http, "survivor")).json()["Response"]["Authorization"]
        assert fake.logins_for("survivor") == 1 and fake.logins_for("crashed") == 1
