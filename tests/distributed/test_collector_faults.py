"""Regressions from a hostile review of the distributed batch, collecting side: repeated
ids, a job that ends while its results sit unread, an unreadable result, an enqueue broken
mid-transaction, a job Redis lost.

The executor is driven directly against a real redis-server; one test runs `cme worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq import create_pool
from arq.worker import Worker, func

from cme_async import distributed
from cme_async.batch import BatchItem
from cme_async.distributed import ArqExecutor
from cme_async.distributed._keys import dump_job, load_job, redis_settings
from cme_async.testing import FakeCme
from tests.distributed._support import BOUND, creates, sent_names, worker_env
from tests.redis_server import RedisProxy, RedisServer


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
        env = worker_env(url, tmp_path)
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


class _BreakExec(RedisProxy):
    """A TCP proxy to Redis that breaks the first EXEC's connection: before passing the
    EXEC on (nothing queued) or after it, dropping Redis's reply (the job is queued).
    Either way arq's enqueue_job answers None, as if the job id were taken."""

    def __init__(self, port: int, *, exec_reaches_redis: bool) -> None:
        super().__init__(port)
        self.exec_reaches_redis = exec_reaches_redis
        self.broken = False

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
