"""Review of the call road: the flags an error carries (``may_have_run``, ``attempts``)
must describe the call that raised it, on both transports, over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

import cme_async
from cme_async.testing import (
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    DEMO_USER_ID,
    FakeCme,
)

TRANSPORTS = ["httpx", "aiohttp"]
OWNER = {"Type": "PERSON", "Id": DEMO_USER_ID}


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeCme, str]]:
    fake = FakeCme.seeded()
    async with fake.serve() as url:
        yield fake, url


def make_client(url: str, transport: str, **kwargs: Any) -> cme_async.AsyncCmeClient:
    signer = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    return cme_async.AsyncCmeClient(
        signer,
        DEMO_USER_ID,
        api_url=url,
        login_url=url,
        transport=transport,  # type: ignore[arg-type]
        **kwargs,
    )


def describe_body() -> dict[str, Any]:
    return {"Platform": DEMO_PLATFORM, "Owner": OWNER}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    "fault", [{"http_status": 500}, {"malformed": True}, {"code": "InternalError"}]
)
async def test_a_failed_login_never_says_the_action_may_have_run(
    served: tuple[FakeCme, str], transport: str, fault: dict[str, Any]
) -> None:
    """The login has its own retries; when it gives up, the action was never sent: a
    Create* must not claim it may have run, and a Describe* must not multiply the
    login's retries by its own."""
    fake, url = served
    async with make_client(url, transport) as client:
        fake.fail_next_login(times=50, **fault)
        logins_before = fake.login_attempts
        with pytest.raises(cme_async.CmeError) as caught:
            await client.call(
                "Material",
                "CreateClass",
                {**describe_body(), "ParentClassId": fake.root_class_id(), "Name": "never"},
            )
        assert fake.calls["Material/CreateClass"] == 0
        assert caught.value.may_have_run is False
        assert "may have run" not in str(caught.value)
        one_login = fake.login_attempts - logins_before
        assert one_login == 3  # the login's own retries (max_retries=2)

        logins_before = fake.login_attempts
        with pytest.raises(cme_async.CmeError) as caught:
            await client.call("Material", "DescribeClass", describe_body())
        assert fake.calls["Material/DescribeClass"] == 0
        assert caught.value.may_have_run is False
        # One login's worth of attempts, not one per retry of the action.
        assert fake.login_attempts - logins_before == one_login


async def test_waiters_of_one_failed_login_get_errors_of_their_own(
    served: tuple[FakeCme, str],
) -> None:
    """Every call waiting on one single-flight login gets its own error object: the flags
    one call writes (attempts, may_have_run) never show up on another call's error."""
    fake, url = served
    seen_500 = asyncio.Event()

    async def on_retry(event: Any) -> None:
        seen_500.set()

    async with make_client(url, "httpx", on_retry=on_retry) as client:
        await client.call("Material", "DescribeClass", describe_body())
        # Call A: its first attempt gets a 500 (may have run), it backs off and retries.
        fake.fail_next("Material/DescribeClass", http_status=500)
        call_a = asyncio.create_task(client.call("Material", "DescribeClass", describe_body()))
        await seen_500.wait()
        # The ticket goes; the next login is slow and refused. B starts that login, and
        # A joins it when its backoff ends.
        ticket = client.ticket
        assert ticket is not None
        assert client._identity is not None
        await client.tokens.invalidate(client._identity, ticket)
        fake.fail_next_login("AuthFailure.SignatureFailure")
        fake.login_latency(1.5)
        call_b = asyncio.create_task(client.call("Material", "DescribeClass", describe_body()))
        error_a, error_b = await asyncio.gather(call_a, call_b, return_exceptions=True)
        assert isinstance(error_a, cme_async.LoginError)
        assert isinstance(error_b, cme_async.LoginError)
        assert fake.logins_for(DEMO_USER_ID) >= 1
        assert error_a is not error_b
        assert error_a.may_have_run is True  # its first attempt got a 500
        assert error_b.may_have_run is False  # B never sent its action
        # attempts counts requests of the action that went out: A's one 500, B's none.
        assert error_b.attempts == 0
        assert error_a.attempts == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("cut", ["deadline", "close"])
async def test_a_call_cut_short_after_its_answer_came_says_it_may_have_run(
    served: tuple[FakeCme, str], transport: str, cut: str
) -> None:
    """CME answered Success (the class exists), then the deadline or aclose() cut the
    call short while an on_response hook ran: the error must not say nothing ran, or
    the caller creates the class a second time."""
    fake, url = served
    hook_started = asyncio.Event()

    async def slow_hook(event: Any) -> None:
        hook_started.set()
        await asyncio.sleep(30)

    async with make_client(url, transport, on_response=slow_hook) as client:
        await client.login()
        body = {**describe_body(), "ParentClassId": fake.root_class_id(), "Name": "once"}
        call = asyncio.create_task(
            client.call(
                "Material", "CreateClass", body, deadline=1.0 if cut == "deadline" else None
            )
        )
        if cut == "close":
            await hook_started.wait()
            await client.aclose()
        with pytest.raises(cme_async.CmeError) as caught:
            await call
    assert fake.calls["Material/CreateClass"] == 1
    expected = cme_async.CmeTimeoutError if cut == "deadline" else cme_async.ClientClosedError
    assert isinstance(caught.value, expected)
    assert caught.value.may_have_run is True


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_call_that_never_left_the_queue_reports_no_attempt(
    served: tuple[FakeCme, str], transport: str
) -> None:
    """A call cut short by its deadline or by aclose() while it waited for a concurrency
    slot sent nothing: attempts == 0 (it said "after 1 attempt(s)")."""
    fake, url = served
    async with make_client(url, transport, max_concurrency=1) as client:
        await client.login()
        fake.latency(30)
        holder = asyncio.create_task(client.call("Material", "DescribeClass", describe_body()))
        while fake.calls["Material/DescribeClass"] == 0:
            await asyncio.sleep(0.01)
        with pytest.raises(cme_async.CmeTimeoutError) as late:
            await client.call("Material", "DescribeClass", describe_body(), deadline=0.2)
        assert late.value.kind == "deadline"
        assert late.value.attempts == 0
        assert late.value.may_have_run is False
        assert "after 1 attempt" not in str(late.value)
        queued = asyncio.create_task(client.call("Material", "DescribeClass", describe_body()))
        await asyncio.sleep(0.05)
        await client.aclose()
        with pytest.raises(cme_async.ClientClosedError) as closed:
            await queued
        assert closed.value.attempts == 0 and closed.value.may_have_run is False
        with pytest.raises(cme_async.ClientClosedError) as in_flight:
            await holder
        assert in_flight.value.attempts == 1 and in_flight.value.may_have_run is True
    assert fake.calls["Material/DescribeClass"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_call_made_from_a_hook_does_not_unregister_the_call_around_it(
    served: tuple[FakeCme, str], transport: str
) -> None:
    """An on_request hook that makes a call of its own (an audit lookup) ran in the same
    task; when it ended it unregistered that task, so aclose() no longer ended the outer
    CreateClass as a call: it ended with ClientClosedError and may_have_run=False
    although CME had its request."""
    fake, url = served
    holder: dict[str, cme_async.AsyncCmeClient] = {}

    async def audit(event: Any) -> None:
        if event.action == "Material/CreateClass":
            await holder["client"].call("Material", "DescribeClass", describe_body())

    client = make_client(url, transport, on_request=audit)
    holder["client"] = client
    async with client:
        await client.login()
        fake.latency(30, "Material/CreateClass")
        body = {**describe_body(), "ParentClassId": fake.root_class_id(), "Name": "audited"}
        create = asyncio.create_task(client.call("Material", "CreateClass", body))
        while fake.calls["Material/CreateClass"] == 0:
            await asyncio.sleep(0.01)
        assert len(client._shared.active) == 1
    with pytest.raises(cme_async.ClientClosedError) as caught:
        await create
    assert caught.value.may_have_run is True and caught.value.attempts == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_transport_closed_under_an_exchange_says_it_may_have_run(
    served: tuple[FakeCme, str], transport: str
) -> None:
    """When the transport itself ends an exchange that was on the wire (closed under it,
    not through the call's cancellation), its ClientClosedError must say the request
    may have run; one that never got out says it did not."""
    fake, url = served
    async with make_client(url, transport) as client:
        await client.login()
        fake.latency(30, "Material/CreateClass")
        body = {**describe_body(), "ParentClassId": fake.root_class_id(), "Name": "cut"}
        create = asyncio.create_task(client.call("Material", "CreateClass", body))
        while fake.calls["Material/CreateClass"] == 0:
            await asyncio.sleep(0.01)
        await client._shared.transport.aclose()
        with pytest.raises(cme_async.ClientClosedError) as caught:
            await create
        assert caught.value.may_have_run is True
        with pytest.raises(cme_async.ClientClosedError) as after:
            await client.call("Material", "CreateClass", {**body, "Name": "never"})
        assert after.value.may_have_run is False
    assert fake.calls["Material/CreateClass"] == 1
