"""Issue 9's attacks replayed against the emulator over TCP, on both transports."""

from __future__ import annotations

import asyncio
import traceback
from collections import Counter
from typing import Any

import pytest

import cme_async
from cme_async._catalogue import catalogue
from cme_async.testing import DEMO_PLATFORM, DEMO_USER_ID, FakeCme
from tests.integration.conftest import SCOPE, make_client

TRANSPORTS = ["httpx", "aiohttp"]


def _not_replay_safe() -> list[str]:
    return sorted(key for key, spec in catalogue().actions.items() if not spec.replay_safe)


def test_there_are_six_actions_that_are_not_replay_safe() -> None:
    assert len(_not_replay_safe()) == 6


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_deadline_during_a_write_says_it_may_have_run(
    fake: FakeCme, url: str, transport: str
) -> None:
    """Finding 2: ``latency(0.3)`` on each non-replay-safe action, ``deadline=0.1``."""
    async with make_client(url, transport=transport) as client:
        await client.call("Material", "DescribeClass", SCOPE)  # log in first
        for action in _not_replay_safe():
            fake.latency(0.3, action)
            action_class, action_name = action.split("/")
            with pytest.raises(cme_async.CmeTimeoutError) as info:
                await client.call(action_class, action_name, {"Name": "x"}, deadline=0.1)
            assert info.value.kind == "deadline" and info.value.may_have_run, action
            assert "may have run" in str(info.value)
            fake.latency(0, action)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_deadline_before_anything_was_sent_says_it_did_not_run(
    fake: FakeCme, url: str, transport: str
) -> None:
    fake.login_latency(0.5)
    async with make_client(url, transport=transport) as client:
        with pytest.raises(cme_async.CmeTimeoutError) as info:
            await client.call("Material", "CreateClass", {"Name": "x"}, deadline=0.1)
    assert info.value.kind == "deadline" and not info.value.may_have_run
    assert fake.calls["Material/CreateClass"] == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_closing_the_client_during_a_write_says_it_may_have_run(
    fake: FakeCme, url: str, transport: str
) -> None:
    async with make_client(url, transport=transport) as client:
        await client.call("Material", "DescribeClass", SCOPE)
        fake.latency(1.0, "Material/CreateClass")
        view = client.as_user(DEMO_USER_ID)
        calls = [
            asyncio.create_task(view.call("Material", "CreateClass", {"Name": f"c{n}"}))
            for n in range(20)
        ]
        await asyncio.sleep(0.2)
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, cme_async.ClientClosedError) for r in results), results
    assert all(r.may_have_run for r in results if isinstance(r, cme_async.CmeError))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_backlog_survives_ticket_expiries(fake: FakeCme, url: str, transport: str) -> None:
    """Finding 4: 5,000 queued calls, tickets expired every 0.5 s: no AuthError, and
    logins at most expiries + 1."""
    expiries = 0
    # 20 in flight keeps a round trip well under the expiry period even on a busy
    # machine; the other 4,980 calls queue in the SDK, which is the backlog under test.
    async with make_client(url, transport=transport, max_concurrency=20) as client:

        async def expire_every_half_second() -> None:
            nonlocal expiries
            while True:
                await asyncio.sleep(0.5)
                fake.expire_tickets()
                expiries += 1

        expirer = asyncio.create_task(expire_every_half_second())
        try:
            results = await asyncio.gather(
                *(client.call("Material", "DescribeClass", SCOPE) for _ in range(5000)),
                return_exceptions=True,
            )
        finally:
            expirer.cancel()
    errors = Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
    assert not errors, errors
    assert expiries >= 1
    assert fake.logins <= expiries + 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_answers_larger_than_the_bound_are_refused(
    fake: FakeCme, url: str, transport: str
) -> None:
    async with make_client(url, transport=transport, max_response_bytes=64) as client:
        with pytest.raises(
            cme_async.ResponseTooLargeError, match=r"Material/DescribeClass.*64"
        ) as info:
            await client.call("Material", "DescribeClass", SCOPE)
        assert info.value.attempts == 1  # the same request would get the same answer
        data = await client.call("Material", "DescribeClass", SCOPE, max_response_bytes=1 << 20)
        assert data["ClassInfoSet"]
        with pytest.raises(cme_async.ResponseTooLargeError):
            await client.with_options(max_response_bytes=100).call(
                "Material", "DescribeClass", SCOPE
            )
    assert fake.calls["Material/DescribeClass"] == 3


def _rendered(error: BaseException) -> str:
    """Everything a logger, Sentry or a debugger could show of ``error``."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    parts.extend(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    cause: BaseException | None = error
    while cause is not None:
        parts.append(repr(cause) + str(cause) + repr(getattr(cause, "__dict__", "")))
        cause = cause.__cause__ or cause.__context__
    return "".join(parts)


async def _failure_of(pending: Any) -> BaseException:
    """The error ``pending`` raises, caught in a frame that holds no secret (so the
    rendering shows the SDK's frames, not the test's own locals)."""
    try:
        await pending
    except cme_async.CmeError as exc:
        return exc
    raise AssertionError("the call did not fail")


FAULTS: list[dict[str, Any]] = [
    {"drop_connection": True},
    {"http_status": 502},
    {"malformed": True},
    {"code": "InternalError"},
    {"code": "InvalidParameterValue.MaterialId"},
    {"code": "AuthFailure.UnauthorizedOperation"},
]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_no_ticket_or_signature_in_any_error_rendering(
    fake: FakeCme, url: str, transport: str
) -> None:
    """Finding 3, client side: every fault kind, rendered every way, on both transports."""
    async with make_client(url, transport=transport, max_retries=0) as client:
        await client.call("Material", "DescribeClass", SCOPE)
        assert client.ticket is not None
        secrets_seen = [client.ticket.authorization, *fake.active_tickets()]
        errors: list[BaseException] = []
        for fault in FAULTS:
            fake.fail_next("Material/CreateClass", **fault)
            errors.append(await _failure_of(client.call("Material", "CreateClass", {"Name": "x"})))
        fake.fail_next_login(code="AuthFailure.SignatureFailure")
        fake.expire_tickets()
        errors.append(await _failure_of(client.call("Material", "DescribeClass", SCOPE)))
    assert len(errors) == len(FAULTS) + 1
    for error in errors:
        text = _rendered(error)
        for secret in secrets_seen:
            assert secret not in text, type(error).__name__
        assert "signature=" not in text.replace("signature=***", "")
    assert isinstance(errors[-1], cme_async.LoginError)
    assert "CME_SECRET_KEY" in str(errors[-1])  # the hint names what to check


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connection_errors_name_host_and_port(transport: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    async with make_client(url, transport=transport, max_retries=0) as client:
        with pytest.raises(cme_async.CmeConnectionError, match=f"127.0.0.1:{port}"):
            await client.call("Material", "DescribeClass", SCOPE)


async def test_platform_is_recorded_per_ticket(fake: FakeCme, url: str) -> None:
    async with make_client(url) as client:
        await client.call("Material", "DescribeClass", SCOPE)
        assert client.ticket is not None and client.ticket.platform == DEMO_PLATFORM


def _open_sockets() -> int:
    import os

    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_closing_with_300_calls_in_flight_leaks_no_socket(
    fake: FakeCme, url: str, transport: str
) -> None:
    """Finding 5: aclose() with 300 calls in flight, 20 times: no socket left open, no
    ResourceWarning, every call ended with ClientClosedError."""
    import gc
    import warnings

    fake.latency(0.2, "Material/DescribeClass")
    async with make_client(url, transport=transport) as warm:
        await warm.call("Material", "DescribeClass", SCOPE)  # the server's sockets exist now
    gc.collect()
    baseline = _open_sockets()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for _ in range(20):
            client = make_client(url, transport=transport, max_concurrency=None)
            async with client:
                calls = [
                    asyncio.create_task(client.call("Material", "DescribeClass", SCOPE))
                    for _ in range(300)
                ]
                await asyncio.sleep(0.05)
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(r, cme_async.ClientClosedError | dict) for r in results)
            del client, calls, results
        gc.collect()
        await asyncio.sleep(0.3)  # the server side notices the closed connections
        gc.collect()
    # The emulator (same process) may keep a few idle server-side sockets a moment longer.
    assert _open_sockets() <= baseline + 2, (_open_sockets(), baseline)
