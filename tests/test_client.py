"""The client's call road against respx: URL, body, tickets, re-login, retries, lifecycle."""

import asyncio
import json

import httpx
import pytest
import respx

import cme_async
from tests.conftest import API, LOGIN, LoginCounter, fail, ok

DELETE = f"{API}/PaaS/Material/DeleteMaterial"


async def test_call_posts_json_with_ticket_and_returns_data(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    route = mock.post(f"{API}/PaaS/Material/DescribeClass").respond(
        json=ok({"ClassInfoSet": [{"ClassId": 9}]})
    )
    data = await client.call("Material", "DescribeClass", {"Platform": "1000000009", "名": "值"})
    assert data == {"ClassInfoSet": [{"ClassId": 9}]}
    request = route.calls.last.request
    assert request.url.params["auth"] == logins.issued[0]
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"Platform": "1000000009", "名": "值"}
    assert client.ticket is not None and client.ticket.authorization == logins.issued[0]
    assert client.ticket.app_id == 1200000001 and client.ticket.tf_uid == "tfuid-1"


async def test_login_uses_a_fresh_percent_encoded_signature(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    mock.post(DELETE).respond(json=fail("AuthFailure.SessionInvalid"))
    async with cme_async.AsyncCmeClient(signer, "user_1") as c:
        with pytest.raises(cme_async.AuthError):
            await c.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    # Tickets refused before they ever worked: three new logins, then the AuthError.
    assert logins.count == 4
    assert len(set(logins.signatures)) == 4
    raw_query = mock.routes[0].calls[0].request.url.query.decode()
    assert raw_query.startswith("signature=") and "+" not in raw_query and "/" not in raw_query


async def test_data_absent_returns_none(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    mock.post(DELETE).respond(json=ok())
    assert await client.call("Material", "DeleteMaterial", {"MaterialId": "1"}) is None


async def test_1000_concurrent_first_calls_make_one_login(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    route = mock.post(DELETE).respond(json=ok())
    await asyncio.gather(
        *(client.call("Material", "DeleteMaterial", {"MaterialId": str(i)}) for i in range(1000))
    )
    assert logins.count == 1
    assert route.call_count == 1000


async def test_500_auth_failures_on_old_ticket_make_one_new_login(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    await_first = mock.post(f"{API}/PaaS/Team/DescribeTeams").respond(json=ok({"TeamSet": []}))
    await client.call("Team", "DescribeTeams", {"TeamIds": []})
    assert logins.count == 1 and await_first.call_count == 1
    old = logins.issued[0]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["auth"] == old:
            return httpx.Response(200, json=fail("AuthFailure.SessionInvalid", "session invalid"))
        return httpx.Response(200, json=ok({"TeamSet": [{"TeamId": "t"}]}))

    mock.post(f"{API}/PaaS/Team/DescribeTeams").mock(side_effect=answer)
    results = await asyncio.gather(
        *(client.call("Team", "DescribeTeams", {"TeamIds": ["t"]}) for _ in range(500))
    )
    assert all(r == {"TeamSet": [{"TeamId": "t"}]} for r in results)
    assert logins.count == 2


async def test_second_auth_failure_is_raised(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    route = mock.post(DELETE).respond(json=fail("AuthFailure.SessionInvalid", "session invalid"))
    with pytest.raises(cme_async.AuthError) as info:
        await client.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    # No ticket ever worked: the first refusal may be a stale ticket, the next ones fresh
    # tickets caught by an expiry; the fourth is final (README "How tickets are handled").
    assert route.call_count == 4 and logins.count == 4
    assert info.value.attempts == 4 and "AuthFailure.SessionInvalid" in str(info.value)


async def test_a_ticket_that_worked_and_then_expired_costs_no_budget(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    """Refusals of tickets that CME had accepted are expiries: each gets a new login."""
    outcomes = iter(["ok", "expired", "ok", "expired", "ok", "expired", "ok"])

    def answer(request: httpx.Request) -> httpx.Response:
        if next(outcomes) == "ok":
            return httpx.Response(200, json=ok())
        return httpx.Response(200, json=fail("AuthFailure.SessionInvalid"))

    mock.post(DELETE).mock(side_effect=answer)
    await client.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    for _ in range(3):
        await client.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    assert logins.count == 4


async def test_failed_login_fails_every_waiter_then_next_call_logs_in(
    mock: respx.MockRouter, client: cme_async.AsyncCmeClient
) -> None:
    answers = iter(
        [
            httpx.Response(
                200,
                json={
                    "Response": {
                        "Error": {"Code": "AuthFailure.SignatureExpire", "Message": "expired"},
                        "RequestId": "r",
                    }
                },
            ),
            httpx.Response(
                200, json={"Response": {"Authorization": "tf_good_ticket_1", "AppId": 1}}
            ),
        ]
    )
    login_route = mock.get(url__startswith=LOGIN).mock(side_effect=lambda request: next(answers))
    mock.post(DELETE).respond(json=ok())
    results = await asyncio.gather(
        *(client.call("Material", "DeleteMaterial", {"MaterialId": "1"}) for _ in range(100)),
        return_exceptions=True,
    )
    assert all(isinstance(r, cme_async.LoginError) for r in results)
    assert login_route.call_count == 1
    assert await client.call("Material", "DeleteMaterial", {"MaterialId": "1"}) is None
    assert login_route.call_count == 2


async def test_cancelled_caller_leaves_login_running_for_the_rest(
    mock: respx.MockRouter, client: cme_async.AsyncCmeClient
) -> None:
    gate = asyncio.Event()

    async def slow_login(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return httpx.Response(200, json={"Response": {"Authorization": "tf_slow_ticket_1"}})

    login_route = mock.get(url__startswith=LOGIN).mock(side_effect=slow_login)
    mock.post(DELETE).respond(json=ok())
    first = asyncio.create_task(client.call("Material", "DeleteMaterial", {"MaterialId": "1"}))
    rest = [
        asyncio.create_task(client.call("Material", "DeleteMaterial", {"MaterialId": "1"}))
        for _ in range(20)
    ]
    await asyncio.sleep(0.01)
    first.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    assert await asyncio.gather(*rest) == [None] * 20
    assert first.cancelled() and login_route.call_count == 1


async def test_connection_errors_retried_up_to_max_retries(
    mock: respx.MockRouter,
    logins: LoginCounter,
    signer: cme_async.LocalSigner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("cme_async._retry.backoff_delay", lambda n, retry_after=None: 0.0)
    route = mock.post(DELETE).mock(side_effect=httpx.ConnectError("refused"))
    async with cme_async.AsyncCmeClient(signer, "u", max_retries=3) as c:
        with pytest.raises(cme_async.CmeConnectionError) as info:
            await c.call("Material", "DeleteMaterial", {"MaterialId": "1"})
        assert route.call_count == 4 and info.value.attempts == 4
        assert isinstance(info.value.__cause__, httpx.ConnectError)
        route.reset()
        with pytest.raises(cme_async.CmeConnectionError):
            await c.call("Material", "DeleteMaterial", {"MaterialId": "1"}, max_retries=0)
        assert route.call_count == 1


async def test_timeout_is_wrapped(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    mock.post(f"{API}/PaaS/Project/CreateProject").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(cme_async.CmeTimeoutError) as info:
        await client.call("Project", "CreateProject", {"Name": "x"})
    assert info.value.kind == "attempt" and info.value.attempts == 1
    assert info.value.may_have_run and "may have run" in str(info.value)


async def test_user_http_client_is_not_closed(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    mock.post(DELETE).respond(json=ok())
    http = httpx.AsyncClient()
    async with cme_async.AsyncCmeClient(signer, "u", http_client=http) as c:
        await c.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    assert not http.is_closed
    await http.aclose()


async def test_owned_http_client_closed_and_client_refuses_after(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    c = cme_async.AsyncCmeClient(signer, "u")
    await c.aclose()
    assert c.is_closed and c._shared.transport.client.is_closed  # type: ignore[attr-defined]
    with pytest.raises(cme_async.ClientClosedError):
        await c.call("Material", "DeleteMaterial", {"MaterialId": "1"})


async def test_with_options_shares_pool_and_tickets(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    mock.post(DELETE).respond(json=ok())
    view = client.with_options(timeout=5, max_retries=0, deadline=10)
    await view.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    await client.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    assert logins.count == 1
    assert view._shared is client._shared and view._max_retries == 0
    assert client._max_retries == 2 and view._deadline == 10


def test_constructor_validates() -> None:
    async def s(user_id: str) -> str:
        return "x"

    with pytest.raises(ValueError, match="user_id"):
        cme_async.AsyncCmeClient(s, "", platform="p")
    with pytest.raises(ValueError, match="max_retries"):
        cme_async.AsyncCmeClient(s, "u", platform="p", max_retries=-1)
    with pytest.raises(ValueError, match="timeout"):
        cme_async.AsyncCmeClient(s, "u", platform="p", timeout=0)
    with pytest.raises(TypeError, match="signer"):
        cme_async.AsyncCmeClient("not callable", "u")  # type: ignore[arg-type]
