"""The retry policy table, backoff, Retry-After, deadlines and the on_retry hook."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

import cme_async
from cme_async import _retry
from cme_async._constants import RETRY_MAX_DELAY
from tests.conftest import API, LoginCounter, fail, ok

SEARCH = f"{API}/PaaS/Material/SearchMaterial"  # replay-safe
CREATE = f"{API}/PaaS/Material/CreateClass"  # not replay-safe


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    real = _retry.backoff_delay

    def record(n: int, retry_after: float | None = None) -> float | None:
        d = real(n, retry_after)
        if d is not None:
            delays.append(d)
            return 0.0
        return None

    monkeypatch.setattr(_retry, "backoff_delay", record)
    return delays


def sequence(*responses: httpx.Response | Exception):  # type: ignore[no-untyped-def]
    items = iter(responses)

    def side_effect(request: httpx.Request) -> httpx.Response:
        item = next(items)
        if isinstance(item, Exception):
            raise item
        return item

    return side_effect


@pytest.mark.parametrize(
    "first",
    [
        httpx.ConnectError("refused"),
        httpx.PoolTimeout("pool"),
        httpx.ProxyError("proxy refused the tunnel"),
        httpx.Response(200, json=fail("RequestLimitExceeded", "too fast")),
        httpx.Response(429, text="slow down"),
    ],
)
async def test_always_retried_even_for_writes(
    mock: respx.MockRouter,
    logins: LoginCounter,
    client: cme_async.AsyncCmeClient,
    no_sleep: list[float],
    first: object,
) -> None:
    route = mock.post(CREATE).mock(
        side_effect=sequence(first, httpx.Response(200, json=ok({"ClassId": 3})))
    )  # type: ignore[arg-type]
    assert await client.call("Material", "CreateClass", {"Name": "a"}) == {"ClassId": 3}
    assert route.call_count == 2 and len(no_sleep) == 1


@pytest.mark.parametrize(
    "first",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(503, text="<html>unavailable</html>"),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json=fail("InternalError", "system error")),
        httpx.Response(200, json=fail("ServiceUnavailable")),
        httpx.Response(200, text='{"Code": "Succ'),
    ],
)
async def test_transient_retried_only_when_replay_safe(
    mock: respx.MockRouter,
    logins: LoginCounter,
    client: cme_async.AsyncCmeClient,
    no_sleep: list[float],
    first: object,
) -> None:
    good = httpx.Response(200, json=ok({"TotalCount": 0, "MaterialInfoSet": []}))
    safe = mock.post(SEARCH).mock(side_effect=sequence(first, good))  # type: ignore[arg-type]
    assert await client.call("Material", "SearchMaterial", {}) == {
        "TotalCount": 0,
        "MaterialInfoSet": [],
    }
    assert safe.call_count == 2

    unsafe = mock.post(CREATE).mock(side_effect=sequence(first, good))  # type: ignore[arg-type]
    with pytest.raises(cme_async.CmeError) as info:
        await client.call("Material", "CreateClass", {"Name": "a"})
    assert unsafe.call_count == 1
    assert info.value.may_have_run and "may have run" in str(info.value)
    assert info.value.attempts == 1


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("InvalidParameterValue.Limit", cme_async.InvalidParameterError),
        ("OperationDenied.PermissionDeny", cme_async.PermissionDeniedError),
        ("ResourceNotFound", cme_async.NotFoundError),
        ("LimitExceeded.BillItemStorage", cme_async.QuotaExceededError),
        ("FailedOperation", cme_async.OperationFailedError),
    ],
)
async def test_never_retried(
    mock: respx.MockRouter,
    logins: LoginCounter,
    client: cme_async.AsyncCmeClient,
    no_sleep: list[float],
    code: str,
    cls: type[Exception],
) -> None:
    route = mock.post(SEARCH).respond(json=fail(code))
    with pytest.raises(cls):
        await client.call("Material", "SearchMaterial", {})
    assert route.call_count == 1 and no_sleep == []


async def test_exhausted_retries_carry_attempts(
    mock: respx.MockRouter,
    logins: LoginCounter,
    signer: cme_async.LocalSigner,
    no_sleep: list[float],
) -> None:
    route = mock.post(SEARCH).respond(json=fail("InternalError", "system error"))
    async with cme_async.AsyncCmeClient(signer, "u", max_retries=3) as c:
        with pytest.raises(cme_async.ServerError) as info:
            await c.call("Material", "SearchMaterial", {})
        assert info.value.attempts == 4 and route.call_count == 4
        assert "after 4 attempts" in str(info.value)
        route.reset()
        with pytest.raises(cme_async.ServerError):
            await c.call("Material", "SearchMaterial", {}, max_retries=0)
        assert route.call_count == 1


async def test_auth_replay_does_not_count_against_max_retries(
    mock: respx.MockRouter,
    logins: LoginCounter,
    signer: cme_async.LocalSigner,
    no_sleep: list[float],
) -> None:
    route = mock.post(SEARCH).mock(
        side_effect=sequence(
            httpx.Response(200, json=fail("AuthFailure.SessionInvalid")),
            httpx.Response(200, json=fail("InternalError")),
            httpx.Response(200, json=ok({"TotalCount": 1})),
        )
    )
    async with cme_async.AsyncCmeClient(signer, "u", max_retries=1) as c:
        assert await c.call("Material", "SearchMaterial", {}) == {"TotalCount": 1}
    assert route.call_count == 3 and logins.count == 2


def test_backoff_full_jitter_bounds() -> None:
    for n in range(1, 10):
        ceiling = min(RETRY_MAX_DELAY, 0.5 * 2 ** (n - 1))
        samples = [_retry.backoff_delay(n) for _ in range(200)]
        assert all(s is not None and 0 <= s <= ceiling for s in samples)
        assert (
            max(s for s in samples if s is not None) > ceiling / 2
        )  # really jittered up to the cap
    assert _retry.backoff_delay(1, retry_after=3.0) == 3.0
    assert _retry.backoff_delay(1, retry_after=61.0) is None


def test_retry_after_forms() -> None:
    assert _retry.parse_retry_after({"retry-after": "2"}) == 2.0
    future = datetime.now(UTC) + timedelta(seconds=30)
    parsed = _retry.parse_retry_after({"retry-after": format_datetime(future, usegmt=True)})
    assert parsed is not None and 27 <= parsed <= 31
    assert _retry.parse_retry_after({"retry-after": "soon"}) is None
    assert _retry.parse_retry_after({}) is None


async def test_retry_after_is_honoured(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    mock.post(CREATE).mock(
        side_effect=sequence(
            httpx.Response(429, headers={"Retry-After": "0.3"}, text="slow down"),
            httpx.Response(200, json=ok({"ClassId": 1})),
        )
    )
    started = time.monotonic()
    assert await client.call("Material", "CreateClass", {}) == {"ClassId": 1}
    waited = time.monotonic() - started
    assert 0.28 <= waited < 1.5


async def test_retry_after_above_cap_is_not_waited_for(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    route = mock.post(CREATE).respond(
        200, headers={"Retry-After": "120"}, json=fail("RequestLimitExceeded")
    )
    started = time.monotonic()
    with pytest.raises(cme_async.RateLimitError):
        await client.call("Material", "CreateClass", {})
    assert route.call_count == 1 and time.monotonic() - started < 1


async def test_deadline_beats_retries(
    mock: respx.MockRouter,
    logins: LoginCounter,
    signer: cme_async.LocalSigner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_retry, "backoff_delay", lambda n, retry_after=None: 1.0)
    mock.post(SEARCH).respond(503, text="busy")
    async with cme_async.AsyncCmeClient(signer, "u", max_retries=10) as c:
        started = time.monotonic()
        with pytest.raises(cme_async.CmeTimeoutError) as info:
            await c.call("Material", "SearchMaterial", {}, deadline=0.3)
        elapsed = time.monotonic() - started
    assert info.value.kind == "deadline" and 0.25 <= elapsed < 0.9
    assert "deadline of 0.3s" in str(info.value) and "HTTP 503" in str(info.value)


async def test_deadline_covers_a_slow_answer(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return httpx.Response(200, json=ok())

    mock.post(SEARCH).mock(side_effect=slow)
    view = client.with_options(deadline=0.2)
    with pytest.raises(cme_async.CmeTimeoutError, match="deadline") as info:
        await view.call("Material", "SearchMaterial", {})
    assert info.value.kind == "deadline"


async def test_on_retry_hook_sees_each_decision(
    mock: respx.MockRouter,
    logins: LoginCounter,
    signer: cme_async.LocalSigner,
    no_sleep: list[float],
) -> None:
    events: list[cme_async.RetryEvent] = []

    async def on_retry(event: cme_async.RetryEvent) -> None:
        events.append(event)

    mock.post(SEARCH).respond(json=fail("InternalError"))
    async with cme_async.AsyncCmeClient(signer, "u", max_retries=2, on_retry=on_retry) as c:
        with pytest.raises(cme_async.ServerError):
            await c.call("Material", "SearchMaterial", {})
    assert [e.will_retry for e in events] == [True, True, False]
    assert [e.attempt for e in events] == [1, 2, 3]
    assert all(
        e.action == "Material/SearchMaterial" and "InternalError" in e.reason for e in events
    )
