"""Each kind of fail_next, latency and the rate limit, seen through the SDK over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import cme_async
from cme_async.testing import FakeCme

from .conftest import make_client


@pytest.fixture
async def strict(url: str) -> AsyncIterator[cme_async.AsyncCmeClient]:
    """A client that does not retry, so each injected failure surfaces."""
    async with make_client(url, max_retries=0, timeout=2.0) as c:
        await c.team.describe_join_teams()  # log in first
        yield c


@pytest.mark.parametrize(
    ("kwargs", "error", "check"),
    [
        ({"code": "InternalError"}, cme_async.ServerError, "InternalError"),
        ({"code": "RequestLimitExceeded"}, cme_async.RateLimitError, "RequestLimitExceeded"),
        ({"code": "ResourceNotFound"}, cme_async.NotFoundError, "ResourceNotFound"),
        ({"http_status": 503}, cme_async.CmeHTTPError, "503"),
        ({"http_status": 404}, cme_async.CmeHTTPError, "404"),
        ({"malformed": True}, cme_async.MalformedResponseError, ""),
        ({"drop_connection": True}, cme_async.CmeConnectionError, ""),
    ],
    ids=[
        "code-internal",
        "code-rate",
        "code-notfound",
        "http-503",
        "http-404",
        "malformed",
        "drop",
    ],
)
async def test_each_failure_kind_surfaces_typed(
    strict: cme_async.AsyncCmeClient, fake: FakeCme, kwargs: dict, error: type, check: str
) -> None:
    fake.fail_next("Team/DescribeJoinTeams", **kwargs)
    with pytest.raises(error) as info:
        await strict.team.describe_join_teams()
    assert check in str(info.value)
    # The failure was one-shot: the next call succeeds.
    assert (await strict.team.describe_join_teams()).total_count == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"code": "InternalError"},
        {"http_status": 503},
        {"drop_connection": True},
        {"code": "RequestLimitExceeded"},
    ],
    ids=["code", "http", "drop", "rate"],
)
async def test_replay_safe_calls_recover_with_retries(
    url: str, fake: FakeCme, kwargs: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cme_async._retry.RETRY_BASE_DELAY", 0.01)
    monkeypatch.setattr("cme_async._retry.RETRY_MAX_DELAY", 0.02)
    async with make_client(url, max_retries=2) as client:
        fake.fail_next("Team/DescribeJoinTeams", times=2, **kwargs)
        assert (await client.team.describe_join_teams()).total_count == 1
    assert fake.calls["Team/DescribeJoinTeams"] == 3


async def test_transient_failures_on_login_are_retried_like_calls(url: str, fake: FakeCme) -> None:
    """InternalError inside the login answer is a server error, not a refusal: the one
    retry loop replays it, and raises ServerError (not LoginError) when retries run out."""
    fake.fail_next("Login", code="InternalError")
    async with make_client(url, max_retries=0) as client:
        with pytest.raises(cme_async.ServerError) as info:
            await client.team.describe_join_teams()
        assert info.value.code == "InternalError" and info.value.action == "Login"
        assert (await client.team.describe_join_teams()).total_count == 1
    assert fake.login_attempts == 2 and fake.logins == 1
    fake.fail_next("Login", code="InternalError", times=2)
    async with make_client(url, max_retries=2) as client:
        assert (await client.team.describe_join_teams()).total_count == 1
    assert fake.login_attempts == 5 and fake.logins == 2


async def test_latency_beyond_timeout_is_a_timeout(
    strict: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    fake.latency(0.5, action="DescribeJoinTeams")
    with pytest.raises(cme_async.CmeTimeoutError):
        await strict.team.describe_join_teams(timeout=0.1)
    fake.latency(0, action="DescribeJoinTeams")
    assert (await strict.team.describe_join_teams()).total_count == 1


async def test_rate_limit_answers_request_limit_exceeded(
    strict: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    fake.rate_limit("DescribeJoinTeams", per_second=1, burst=2)
    await strict.team.describe_join_teams()
    await strict.team.describe_join_teams()
    with pytest.raises(cme_async.RateLimitError) as info:
        await strict.team.describe_join_teams()
    assert info.value.code == "RequestLimitExceeded"
