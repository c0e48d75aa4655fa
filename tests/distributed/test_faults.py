"""Regressions from a hostile review of the distributed batch: repeated ids, a job that
ends while its results sit unread, an unreadable result, an enqueue whose reply was lost,
a try that finds its item claimed, a killed try's marks, and Redis URLs arq misread.

The executor and the job function are driven directly against a real redis-server (and
the emulator over TCP); one test runs ``cme worker`` as a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq import create_pool
from arq.worker import Worker, func

import cme_async
from cme_async import distributed
from cme_async.batch import BatchItem
from cme_async.distributed import ArqExecutor, cme_call, worker_settings
from cme_async.distributed._keys import dump_job, load_job, redis_settings
from cme_async.testing import (
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    DEMO_USER_ID,
    FakeCme,
)
from tests.redis_server import RedisServer, running_redis

ME = {"Type": "PERSON", "Id": DEMO_USER_ID}
BOUND = 60.0  # seconds: the longest any wait here may take (they end in well under 1 s)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@contextlib.asynccontextmanager
async def emulator_client(
    fake: FakeCme, max_concurrency: int = 8
) -> AsyncIterator[cme_async.AsyncCmeClient]:
    signer = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    async with (
        fake.serve() as url,
        cme_async.AsyncCmeClient(
            signer,
            DEMO_USER_ID,
            api_url=url,
            login_url=url,
            allow_insecure=True,
            max_concurrency=max_concurrency,
        ) as client,
    ):
        yield client


def creates(fake: FakeCme, count: int, prefix: str) -> list[dict[str, Any]]:
    root = fake.root_class_id()
    return [
        {
            "id": f"{prefix}{n}",
            "action": "Material/CreateClass",
            "body": {"ParentClassId": root, "Name": f"{prefix}{n}", "Owner": ME},
        }
        for n in range(count)
    ]


def sent_names(fake: FakeCme) -> Counter[str]:
    return Counter(r.body["Name"] for r in fake.requests_for("Material/CreateClass"))


async def results_of(redis: aioredis.Redis, batch_id: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in await redis.lrange(f"cme:batch:{batch_id}:results", 0, -1)]


# -- the job function ---------------------------------------------------------------------


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


# -- the collecting side -----------------------------------------------------------------


async def test_repeated_ids_each_get_a_result(redis_server: RedisServer, tmp_path: Path) -> None:
    """check_duplicates=False lets an id repeat; the collector kept one waiter per id,
    so the other items with that id waited forever (not even the sweep saw them)."""
    fake = FakeCme.seeded()
    queue = f"dup-{os.getpid()}"
    ids = fake.material_ids()
    items = [
        {"id": "same", "action": "Material/DescribeMaterials", "body": {"MaterialIds": [m]}}
        for m in ids[:3]
    ] + [{**item, "id": "twin"} for item in creates(fake, 2, "twin-")]
    async with fake.serve(host="127.0.0.1", port=0) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CME_")}
        env.update(
            CME_SECRET_ID=DEMO_SECRET_ID,
            CME_SECRET_KEY=DEMO_SECRET_KEY,
            CME_PLATFORM=DEMO_PLATFORM,
            CME_USER_ID=DEMO_USER_ID,
            CME_API_URL=url,
            CME_LOGIN_URL=url,
            CME_CONFIG_FILE=str(tmp_path / "absent.toml"),
        )
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cme_async.cli", "worker", "--redis", redis_server.url,
            "--queue", queue, "--deadline", "10",
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            run = distributed.run(
                redis_server.url,
                items,
                queue_name=queue,
                deadline=10,
                check_duplicates=False,
                stop_signals=False,
            )
            async with asyncio.timeout(BOUND):
                results = [result async for result in run]
        finally:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), BOUND)
    assert sorted(r.id for r in results) == ["same"] * 3 + ["twin"] * 2
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert sent_names(fake) == Counter({"twin-0": 1, "twin-1": 1})


async def _finish_job_without_the_collector(url: str, queue: str) -> None:
    """Run the queued job in this process as our worker would (results pushed, then the
    job ends), while the collector's reader is not looking."""

    async def job(ctx: dict[str, Any], batch_id: str, items: list[dict[str, Any]], *_: Any) -> int:
        for slot, item in enumerate(items):
            result = {"id": item["id"], "ok": True, "outcome": "ok", "data": {"n": slot}}
            tagged = {**result, "cme_job": ctx["job_id"], "cme_slot": str(slot)}
            await ctx["redis"].rpush(f"cme:batch:{batch_id}:results", json.dumps(tagged))
        return len(items)

    pool = await create_pool(redis_settings(url), default_queue_name=queue)
    worker = Worker(
        functions=[func(job, name="cme_call")],
        redis_pool=pool,
        queue_name=queue,
        burst=True,
        job_serializer=dump_job,
        job_deserializer=load_job,
    )
    await worker.main()
    await pool.aclose()


async def test_the_sweep_takes_results_a_job_pushed_before_it_ended(
    redis_server: RedisServer,
) -> None:
    """A job ends between the reader's last LPOP and the sweep's look at arq: its results
    are in the list, unread. They used to be replaced by 'the arq job ended without a
    result'; now the sweep reads the list before it judges."""
    queue = f"sweep-{os.getpid()}"
    executor = ArqExecutor(redis_server.url, queue_name=queue, chunk_size=3)
    executor._pool = await create_pool(
        redis_settings(redis_server.url),
        default_queue_name=queue,
        job_serializer=dump_job,
        job_deserializer=load_job,
    )
    try:
        waiting = [
            asyncio.create_task(executor(BatchItem(f"s{n}", "Team/DescribeJoinTeams", {}), True))
            for n in range(3)
        ]
        async with asyncio.timeout(BOUND):
            while executor._tasks or not executor._chunks:
                await asyncio.sleep(0.01)
        await _finish_job_without_the_collector(redis_server.url, queue)
        executor._overdue = 0.0  # every item counts as late
        await executor._sweep()
        results = [await asyncio.wait_for(task, BOUND) for task in waiting]
    finally:
        await executor._pool.aclose()
    assert [(r.id, r.outcome, r.data) for r in results] == [
        ("s0", "ok", {"n": 0}),
        ("s1", "ok", {"n": 1}),
        ("s2", "ok", {"n": 2}),
    ]


async def test_an_unreadable_result_loses_no_other(redis_server: RedisServer) -> None:
    """A bad entry in the results list used to abort the whole LPOP batch it came in:
    the good results popped with it were dropped, their items left to the sweep."""
    queue = f"garbage-{os.getpid()}"
    raw = aioredis.Redis.from_url(redis_server.url)
    async with ArqExecutor(redis_server.url, queue_name=queue, batch_id="garbage") as executor:
        waiting = asyncio.create_task(executor(BatchItem("g1", "Team/DescribeJoinTeams", {}), True))
        async with asyncio.timeout(BOUND):
            while not executor._chunks or executor._tasks:
                await asyncio.sleep(0.01)
        async with raw.pipeline(transaction=True) as pipe:  # arrive together
            pipe.rpush("cme:batch:garbage:results", b"\xff not json", b"[1, 2]")
            pipe.rpush("cme:batch:garbage:results", json.dumps({"id": "g1", "ok": True}))
            await pipe.execute()
        result = await asyncio.wait_for(waiting, BOUND)
    await raw.delete("cme:batch:garbage:results")
    await raw.aclose()
    assert (result.id, result.outcome) == ("g1", "ok")


class _BreakExec:
    """A TCP proxy to Redis that breaks the first EXEC's connection: before passing the
    EXEC on (nothing queued) or after it, dropping Redis's reply (the job is queued).
    Either way arq's enqueue_job answers None, as if the job id were taken."""

    def __init__(self, port: int, *, exec_reaches_redis: bool) -> None:
        self.port = port
        self.exec_reaches_redis = exec_reaches_redis
        self.broken = False
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        dropping = asyncio.Event()

        async def upstream() -> None:
            while data := await reader.read(65536):
                if b"EXEC" in data and not self.broken:
                    self.broken = True
                    if not self.exec_reaches_redis:
                        return  # the client's connection closes below, EXEC unsent
                    dropping.set()
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if dropping.is_set():
                    return  # Redis ran the EXEC; its answer is lost
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        with contextlib.suppress(Exception):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        writer.transport.abort()
        up_writer.transport.abort()


@pytest.mark.parametrize("exec_reaches_redis", [False, True], ids=["unsent", "reply-lost"])
async def test_an_enqueue_broken_mid_transaction(
    redis_server: RedisServer, exec_reaches_redis: bool
) -> None:
    """The connection breaks during arq's WATCH/MULTI/EXEC: arq answers None, which the
    executor ignored, so a chunk that never reached the queue waited forever (the sweep
    only asks about jobs arq knows). It now asks Redis whether the job is there."""
    queue = f"broken-{os.getpid()}-{exec_reaches_redis}"
    raw = aioredis.Redis.from_url(redis_server.url)
    proxy = _BreakExec(redis_server.port, exec_reaches_redis=exec_reaches_redis)
    async with proxy as proxy_url, ArqExecutor(proxy_url, queue_name=queue) as executor:
        item = BatchItem("b1", "Material/CreateClass", {"Name": "b1"})
        waiting = asyncio.create_task(executor(item, False))
        async with asyncio.timeout(BOUND):
            while not executor._chunks or executor._tasks:
                await asyncio.sleep(0.01)
        assert proxy.broken
        jobs = await raw.keys(f"arq:job:cme:{executor.batch_id}:*")
        if exec_reaches_redis:
            assert len(jobs) == 1 and not waiting.done()  # queued: wait for its result
            answer = {"id": "b1", "ok": True, "outcome": "ok", "data": {}}
            await raw.rpush(f"cme:batch:{executor.batch_id}:results", json.dumps(answer))
            assert (await asyncio.wait_for(waiting, BOUND)).ok
        else:
            result = await asyncio.wait_for(waiting, BOUND)
            assert jobs == [] and (result.outcome, result.error.type) == ("failed", "EnqueueFailed")
            assert not result.error.may_have_run
    await raw.delete(queue, *jobs)
    await raw.aclose()


# -- Redis URLs as arq reads them ---------------------------------------------------------


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


# -- Redis restarted (no persistence) mid-run ------------------------------------------------


async def test_a_job_redis_lost_is_reported_not_awaited(redis_server: RedisServer) -> None:
    """Redis restarted without persistence: the queued job is gone, arq has no record of
    it, and the sweep took that for 'still queued or running': the run waited forever."""
    queue = f"vanished-{os.getpid()}"
    raw = aioredis.Redis.from_url(redis_server.url)
    async with ArqExecutor(redis_server.url, queue_name=queue) as executor:
        safe = asyncio.create_task(executor(BatchItem("v1", "Team/DescribeJoinTeams", {}), True))
        unsafe = asyncio.create_task(executor(BatchItem("v2", "Material/CreateClass", {}), False))
        async with asyncio.timeout(BOUND):
            while not executor._chunks or executor._tasks:
                await asyncio.sleep(0.01)
        jobs = await raw.keys(f"arq:job:cme:{executor.batch_id}:*")
        assert len(jobs) == 1
        await raw.delete(queue, *jobs)  # what a restart without persistence leaves
        executor._overdue = 0.0
        await executor._sweep()
        results = [await asyncio.wait_for(task, BOUND) for task in (safe, unsafe)]
    await raw.aclose()
    assert [(r.outcome, r.error.type) for r in results if r.error] == [
        ("failed", "JobFailed"),
        ("unknown", "JobFailed"),  # it may have run before Redis lost it
    ]
    assert "vanished" in results[0].error.message


async def test_a_worker_rides_out_a_redis_restart(tmp_path: Path) -> None:
    """arq's worker loop ends at the first Redis error it meets: a Redis restart stopped
    every `cme worker` ("internal error (ConnectionError ...)"). Its commands now retry
    a dropped connection for about 30 s."""
    fake = FakeCme.seeded()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CME_")}
    with running_redis(tmp_path) as server:
        async with fake.serve(host="127.0.0.1", port=0) as url:
            env.update(
                CME_SECRET_ID=DEMO_SECRET_ID,
                CME_SECRET_KEY=DEMO_SECRET_KEY,
                CME_PLATFORM=DEMO_PLATFORM,
                CME_USER_ID=DEMO_USER_ID,
                CME_API_URL=url,
                CME_LOGIN_URL=url,
                CME_CONFIG_FILE=str(tmp_path / "absent.toml"),
            )
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
    import pickle

    marker = tmp_path / "ran"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CME_")}
    env.update(
        CME_SECRET_ID=DEMO_SECRET_ID,
        CME_SECRET_KEY=DEMO_SECRET_KEY,
        CME_PLATFORM=DEMO_PLATFORM,
        CME_USER_ID=DEMO_USER_ID,
        CME_API_URL="http://127.0.0.1:9",
        CME_LOGIN_URL="http://127.0.0.1:9",
        CME_CONFIG_FILE=str(tmp_path / "absent.toml"),
    )
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
