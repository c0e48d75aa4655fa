"""RedisRateLimiter on a real redis-server: the GCRA script, keys, failure modes."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis

import cme_async
from cme_async import RateLimiterError
from cme_async import _redis_limiter as limiter_module
from cme_async.redis import RedisRateLimiter
from cme_async.testing import DEMO_PLATFORM, DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_USER_ID, FakeCme
from tests.emulated import demo_client
from tests.redis_server import RedisServer, free_port


async def test_burst_then_reserved_then_ask_again(redis_url: str, redis_prefix: str) -> None:
    # One call per second, burst 3: three at once, the fourth reserved about a second
    # ahead, the fifth (two seconds ahead, past max_reserve) told to come back later.
    limiter = RedisRateLimiter(redis_url, rate=1, burst=3, prefix=redis_prefix, max_reserve=1.0)
    answers = [await limiter._ask("*") for _ in range(5)]
    assert answers[:3] == [0, 0, 0]
    assert 0 < answers[3] <= 1_000_000
    assert -1_000_000 <= answers[4] < 0
    assert await limiter._ask("Material/SearchMaterial") == 0  # another key, its own limit
    await limiter.aclose()


async def test_limits_are_shared_between_instances(redis_url: str, redis_prefix: str) -> None:
    one = RedisRateLimiter(redis_url, rate=1, burst=2, prefix=redis_prefix)
    two = RedisRateLimiter(redis_url, rate=1, burst=2, prefix=redis_prefix)
    assert [await one._ask("*"), await two._ask("*")] == [0, 0]
    assert await two._ask("*") > 0  # the burst was spent by both together
    await one.aclose()
    await two.aclose()


async def test_state_lives_on_redis_with_an_expiry(redis_url: str, redis_prefix: str) -> None:
    limiter = RedisRateLimiter(redis_url, rate=10, prefix=redis_prefix)
    await limiter.acquire("Team/DescribeJoinTeams")
    raw = aioredis.Redis.from_url(redis_url)
    name = f"{redis_prefix}rate:Team/DescribeJoinTeams"
    assert float(await raw.get(name)) > 1e15  # a theoretical arrival time in µs
    assert 0 < await raw.pttl(name) <= 1200  # gone soon after the limit is idle
    await raw.aclose()
    await limiter.aclose()


async def test_per_action_and_overall_keys_through_the_client(
    redis_url: str, redis_prefix: str
) -> None:
    fake = FakeCme.seeded()
    signer = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    overall = RedisRateLimiter(redis_url, rate=100, prefix=redis_prefix + "all:")
    per_action = RedisRateLimiter(redis_url, rate=100, prefix=redis_prefix + "each:")
    async with (
        fake.serve() as url,
        cme_async.AsyncCmeClient(
            signer,
            DEMO_USER_ID,
            api_url=url,
            login_url=url,
            allow_insecure=True,
            rate_limit=overall,
            action_rate_limit=per_action,
        ) as client,
    ):
        await client.team.describe_join_teams()
        owner = {"Type": "PERSON", "Id": DEMO_USER_ID}
        await client.call("Material", "DescribeClass", {"Platform": DEMO_PLATFORM, "Owner": owner})
    raw = aioredis.Redis.from_url(redis_url)
    keys = sorted([k.decode() async for k in raw.scan_iter(match=f"{redis_prefix}*")])
    await raw.aclose()
    assert keys == [
        f"{redis_prefix}all:rate:*",
        f"{redis_prefix}each:rate:Material/DescribeClass",
        f"{redis_prefix}each:rate:Team/DescribeJoinTeams",
    ]
    await overall.aclose()
    await per_action.aclose()


async def test_fails_closed_and_the_call_is_not_sent() -> None:
    url = f"redis://:hunter2-pw@127.0.0.1:{free_port()}/0"  # nothing listens there
    limiter = RedisRateLimiter(url, rate=5, socket_timeout=0.5)
    assert "hunter2-pw" not in repr(limiter)
    fake = FakeCme.seeded()
    async with (
        fake.serve() as api,
        demo_client(api, allow_insecure=True, rate_limit=limiter) as client,
    ):
        async with asyncio.timeout(10):
            with pytest.raises(RateLimiterError) as caught:
                await client.team.describe_join_teams()
    assert "RedisRateLimiter(redis://:***@127.0.0.1" in str(caught.value)
    assert "hunter2-pw" not in str(caught.value) and caught.value.__context__ is None
    assert isinstance(caught.value, cme_async.CmeError)
    assert fake.calls["Team/DescribeJoinTeams"] == 0


async def test_falls_back_to_the_local_limit_and_back(
    own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(limiter_module, "FALLBACK_RETRY_AFTER", 0.2)
    limiter = RedisRateLimiter(own_redis.url, rate=1000, on_error="local", socket_timeout=0.5)
    await limiter.acquire("*")
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="cme_async"):
        async with asyncio.timeout(10):
            for _ in range(20):
                await limiter.acquire("*")  # no error: the in-process limit decides
    warnings = [r.getMessage() for r in caplog.records if "in this process only" in r.getMessage()]
    assert len(warnings) == 1, "one warning per outage, not one per call"
    assert limiter._fallback_until > 0
    own_redis.start()
    await asyncio.sleep(0.25)
    with caplog.at_level(logging.WARNING, logger="cme_async"):
        await limiter.acquire("*")
    assert limiter._fallback_until == 0.0
    assert any("shared limit restored" in r.getMessage() for r in caplog.records)
    await limiter.aclose()


def test_bad_settings_are_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="rate"):
        RedisRateLimiter("redis://127.0.0.1:1/0", rate=0)
    with pytest.raises(ValueError, match="burst must be at least 1"):
        RedisRateLimiter("redis://127.0.0.1:1/0", rate=5, burst=0.5)
    with pytest.raises(ValueError, match="on_error"):
        RedisRateLimiter("redis://127.0.0.1:1/0", rate=5, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
        RedisRateLimiter(6379, rate=5)  # type: ignore[arg-type]
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", rate=5)  # no loop needed to build it
    assert isinstance(limiter, cme_async.RateLimiter)
