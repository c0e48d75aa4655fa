"""Several processes on one real redis-server and one emulator over TCP.

Every wait is bounded; a worker that does not answer in time fails the test and is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from cme_async.testing import FakeCme

WORKER = Path(__file__).with_name("_worker.py")
ROOT = Path(__file__).resolve().parents[2]
BOUND = 60.0  # seconds: the longest any single wait on a worker may take


class Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, bound: float = BOUND) -> str:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), bound)
        assert raw, f"worker {self.process.pid} exited (status {self.process.returncode})"
        return raw.decode().strip()

    async def report(self, bound: float = BOUND) -> dict[str, Any]:
        result = json.loads(await self.line(bound))
        assert isinstance(result, dict)
        return result

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


@asynccontextmanager
async def workers(count: int, **config: Any) -> AsyncIterator[list[Worker]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started: list[Worker] = []
    try:
        for _ in range(count):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                json.dumps(config),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            started.append(Worker(process))
        for worker in started:
            assert await worker.line() == "ready"
        yield started
    finally:
        for worker in started:
            if worker.process.returncode is None and worker.process.stdin is not None:
                with contextlib.suppress(OSError):  # a killed worker's pipe is closed
                    worker.send("exit")
        for worker in started:
            try:
                await asyncio.wait_for(worker.process.wait(), 10)
            except TimeoutError:
                worker.kill()
                await worker.process.wait()


async def test_one_login_across_eight_processes(redis_url: str, redis_prefix: str) -> None:
    fake = FakeCme.seeded()
    fake.login_latency(0.3)  # every process asks while the one login is in flight
    config = {"redis": redis_url, "prefix": redis_prefix}
    async with fake.serve() as url, workers(8, url=url, **config) as procs:
        for worker in procs:
            worker.send("calls 250")
        first = [await worker.report() for worker in procs]
        assert [r["errors"] for r in first] == [[]] * 8
        assert sum(r["ok"] for r in first) == 2000
        assert fake.logins == 1, f"{fake.logins} logins for one user over 8 processes"
        assert sum(r["logins"] for r in first) == 1

        # Expire mid-run (the processes keep their state); every process then calls with
        # the refused ticket at once. 50 calls each keep the test short; 8 x 50 still
        # race for the one new login.
        assert fake.expire_tickets() >= 1
        for worker in procs:
            worker.send("calls 50")
        second = [await worker.report() for worker in procs]
        assert [r["errors"] for r in second] == [[]] * 8
        assert sum(r["ok"] for r in second) == 400
        assert fake.logins == 2, f"{fake.logins - 1} logins after one expiry"
        assert fake.login_attempts == 2
        print(f"one login across processes: {fake.logins} logins for 2,400 calls in 8 processes")


async def test_crashed_lock_holder_is_replaced(redis_url: str, redis_prefix: str) -> None:
    lock_ttl, login_time = 2.0, 1.5
    fake = FakeCme.seeded()
    fake.login_latency(login_time)  # the holder is killed while its login is in flight
    config = {"url": "", "redis": redis_url, "prefix": redis_prefix, "lock_ttl": lock_ttl}
    async with aioredis.Redis.from_url(redis_url) as check, fake.serve() as url:
        config["url"] = url
        async with workers(1, **config) as (holder,), workers(2, **config) as waiters:
            holder.send("calls 5")
            async with asyncio.timeout(BOUND):  # the holder's login is in flight
                while fake.login_attempts < 1:
                    await asyncio.sleep(0.01)
            locks = [k async for k in check.scan_iter(match=f"{redis_prefix}lock:*")]
            assert len(locks) == 1, "the holder took no login lock"
            for worker in waiters:
                worker.send("calls 50")
            await asyncio.sleep(0.3)  # the waiters find the lock taken and wait
            assert fake.login_attempts == 1, "a waiter logged in while the lock was held"
            holder.kill()
            killed = time.time()
            lock_left = await check.pttl(locks[0]) / 1000
            assert 0 < lock_left <= lock_ttl

            async with asyncio.timeout(BOUND):
                while fake.login_attempts < 2:
                    await asyncio.sleep(0.01)
            relogin = time.time()
            reports = [await worker.report() for worker in waiters]
            finished = max(r["ended"] for r in reports)
            assert [r["errors"] for r in reports] == [[], []]
            assert [r["ok"] for r in reports] == [50, 50]
            assert fake.login_attempts == 2, "more than one process replaced the dead holder"
            assert sorted(r["logins"] for r in reports) == [0, 1]
            # The new login waited for the dead holder's lock to expire, never less.
            assert relogin >= killed + lock_left - 0.05
            recovery = finished - killed
            # Bounded: the lock's expiry plus one login (plus the machine's slack).
            assert recovery < lock_ttl + login_time + 10
            print(f"crash recovery: {recovery:.2f} s after SIGKILL (lock left {lock_left:.2f} s)")


async def test_four_processes_share_one_rate_limit(redis_url: str, redis_prefix: str) -> None:
    rate, burst, seconds = 50, 10, 4.0
    fake = FakeCme.seeded()
    config = {"redis": redis_url, "prefix": redis_prefix, "rate": rate, "burst": burst, "tasks": 8}
    async with fake.serve() as url, workers(4, url=url, **config) as procs:
        # Log in first so the window measures calls only.
        for worker in procs:
            worker.send("calls 1")
        for worker in procs:
            assert (await worker.report())["errors"] == []
        await asyncio.sleep(burst / rate)  # the burst allowance refills
        t0 = time.time() + 0.5
        for worker in procs:
            worker.send(f"limit {t0} {seconds}")
        reports = [await worker.report() for worker in procs]
    assert [r["errors"] for r in reports] == [[]] * 4
    total = sum(r["counted"] for r in reports)
    ceiling = rate * seconds + burst
    print(f"shared limit: {total} calls in {seconds} s, ceiling {ceiling}, {total / ceiling:.3f}")
    assert total <= ceiling, f"{total} calls in {seconds} s at {rate}/s (burst {burst})"
    # Measured 0.990-0.995 of the ceiling; 0.8 leaves room for a loaded machine and still
    # fails a limiter that charges each call twice (about 0.5 of the ceiling).
    assert total >= 0.8 * ceiling, f"only {total} calls of {ceiling} allowed"
    assert all(r["counted"] > 0 for r in reports), "a process was starved"
