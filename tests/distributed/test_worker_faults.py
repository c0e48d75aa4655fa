"""Regressions from a hostile review of the distributed batch, worker side: a killed
try's marks, a try that finds its item claimed, a Redis restart under a running worker, a
pickle planted in Redis, Redis URLs as arq reads them.

The job function is driven directly against a real redis-server and the emulator over
TCP; `cme worker` runs as a subprocess where the worker process itself is the subject.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from cme_async import distributed
from cme_async.distributed import ArqExecutor, cme_call, worker_settings
from cme_async.distributed._keys import redis_settings
from cme_async.testing import FakeCme
from tests.distributed._support import (
    BOUND,
    creates,
    emulator_client,
    results_of,
    sent_names,
    worker_env,
)
from tests.redis_server import RedisServer, running_redis


async def test_a_killed_try_leaves_unknown_only_the_calls_in_flight(
    redis_server: RedisServer,
) -> None:
    """A try dies (here: cancelled) with a chunk half done. The next try reports as
    unknown only the items whose call may have gone out; the first code marked every
    non-replay-safe item of the chunk ``sending`` at once, before it had a free slot."""
    fake = FakeCme.seeded()
    fake.latency(0.1)
    items = creates(fake, 10, "kill-")
    redis = aioredis.Redis.from_url(redis_server.url)
    async with emulator_client(fake, max_concurrency=2) as client:
        ctx: dict[str, Any] = {
            "redis": redis,
            "job_id": "cme:killed:1",
            "cme_client": client,
            "cme_deadline": BOUND,
            "cme_slots": asyncio.Semaphore(2),
        }
        first = asyncio.create_task(
            cme_call({**ctx, "job_try": 1}, "killed", items, [False] * 10, None)
        )
        async with asyncio.timeout(BOUND):
            while fake.calls["Material/CreateClass"] < 3:
                await asyncio.sleep(0.005)
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        await cme_call({**ctx, "job_try": 2}, "killed", items, [False] * 10, None)
    results = await results_of(redis, "killed")
    await redis.aclose()
    latest = {r["id"]: r["outcome"] for r in results}
    assert sorted(latest) == sorted(item["id"] for item in items)
    outcomes = Counter(latest.values())
    assert set(outcomes) <= {"ok", "unknown"}
    # Two slots: at most the two calls in flight, plus the two before them if their
    # results were still being pushed (the first code: all ten).
    assert 1 <= outcomes["unknown"] <= 4, outcomes
    names = sent_names(fake)
    assert max(names.values()) == 1, "a non-replay-safe item was sent twice"
    assert all(f"{i}" in names for i, outcome in latest.items() if outcome == "ok")


async def test_an_item_claimed_by_another_try_is_never_sent(redis_server: RedisServer) -> None:
    """A try stalled past arq's in-progress expiry (SIGSTOP, a VM pause) wakes up after
    the next try claimed its items: it must report them, not send them."""
    fake = FakeCme.seeded()
    items = creates(fake, 2, "stalled-")
    redis = aioredis.Redis.from_url(redis_server.url)
    await redis.hset("cme:batch:stalled:marks:cme:stalled:1", "0", "sending")  # the newer try
    async with emulator_client(fake) as client:
        ctx = {
            "redis": redis,
            "job_id": "cme:stalled:1",
            "job_try": 1,
            "cme_client": client,
            "cme_deadline": BOUND,
            "cme_slots": asyncio.Semaphore(8),
        }
        await cme_call(ctx, "stalled", items, [False, False], None)
    outcomes = {r["id"]: r["outcome"] for r in await results_of(redis, "stalled")}
    await redis.aclose()
    assert outcomes == {"stalled-0": "unknown", "stalled-1": "ok"}
    assert sent_names(fake) == Counter({"stalled-1": 1})


async def test_a_worker_rides_out_a_redis_restart(tmp_path: Path) -> None:
    """arq's worker loop ends at the first Redis error it meets: a Redis restart stopped
    every `cme worker` ("internal error (ConnectionError ...)"). Its commands now retry
    a dropped connection for about 30 s."""
    fake = FakeCme.seeded()
    with running_redis(tmp_path) as server:
        async with fake.serve(host="127.0.0.1", port=0) as url:
            env = worker_env(url, tmp_path)
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cme_async.cli", "worker", "--redis", server.url,
                "--deadline", "10",
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip

            async def one_item(n: int) -> bool:
                item = {"id": f"r{n}", "action": "Team/DescribeJoinTeams", "body": {}}
                run = distributed.run(server.url, [item], deadline=10, stop_signals=False)
                async with asyncio.timeout(BOUND):
                    return all([result.ok async for result in run])

            try:
                assert await one_item(1)  # the worker is up and polling
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(1.0)  # the worker polls every 0.1 s meanwhile
                await asyncio.to_thread(server.start)
                assert worker.returncode is None
                assert await one_item(2), "the worker did not survive the restart"
            finally:
                if worker.returncode is None:
                    worker.terminate()
                _, err = await asyncio.wait_for(worker.communicate(), BOUND)
    assert b"internal error" not in err, err.decode()[-500:]


class _Planted:
    """What an attacker with write access to Redis could queue: a pickle that runs a
    command when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


async def test_a_job_planted_in_redis_runs_no_code(tmp_path: Path) -> None:
    """arq unpickles jobs by default: anyone who could write an arq:job:* key ran code in
    every `cme worker`, which holds the SecretKey. Jobs and results are JSON now."""
    marker = tmp_path / "ran"
    env = worker_env("http://127.0.0.1:9", tmp_path)
    with running_redis(tmp_path) as server:
        raw = aioredis.Redis.from_url(server.url)
        await raw.set("arq:job:planted", pickle.dumps(_Planted(marker)))
        await raw.zadd("cme:batch:queue", {"planted": int(time.time() * 1000)})
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cme_async.cli", "worker", "--redis", server.url,
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            async with asyncio.timeout(BOUND):  # the worker took the job and failed it
                while not await raw.exists("arq:result:planted"):
                    await asyncio.sleep(0.05)
        finally:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), BOUND)
            await raw.aclose()
    assert not marker.exists(), "a job planted in Redis ran a command in the worker"


async def test_arq_gets_the_url_as_redis_py_reads_it(tmp_path: Path) -> None:
    """arq's RedisSettings.from_dsn ignores ?password= (the store honours it), so the
    queue side of a worker could not log in where its ticket store could."""
    with running_redis(tmp_path) as server:
        admin = aioredis.Redis.from_url(server.url)
        await admin.config_set("requirepass", "query-pass-123")
        await admin.aclose()
        url = f"redis://127.0.0.1:{server.port}/0?password=query-pass-123"
        assert worker_settings(url)["redis_settings"].password == "query-pass-123"
        async with ArqExecutor(url, queue_name="pw-queue") as executor:
            assert await executor._pool.ping()
    tls = redis_settings("rediss://cache.example:6380/2")
    assert (tls.ssl, tls.ssl_check_hostname, tls.database) == (True, True, 2)


def test_a_password_arq_would_misread_is_never_shown() -> None:
    url = "redis://:Zx9+/abc==Q@127.0.0.1:6379/0"  # not percent-encoded
    with pytest.raises(ValueError, match="percent-encode") as caught:
        worker_settings(url)
    with pytest.raises(ValueError, match="percent-encode"):
        redis_settings(url)
    assert "Zx9+" not in str(caught.value) and "abc==" not in str(caught.value)
