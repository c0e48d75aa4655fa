"""The worker side: arq startup/shutdown hooks holding one client per process, and the
job function that runs a chunk of items."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..batch import BatchItem, BatchResult, ItemError, LocalExecutor, count_attempts
from ..batch._results import dumps, failure
from ._keys import (
    DEFAULT_DEADLINE,
    DEFAULT_QUEUE,
    JOB_FUNCTION,
    JOB_TIMEOUT_MARGIN,
    RESULTS_TTL,
    WORKER_DIED,
    check_reachable,
    dump_job,
    load_job,
    logger,
    marks_key,
    redis_settings,
    results_key,
)


async def _startup(ctx: dict[str, Any]) -> None:
    from .. import AsyncCmeClient
    from ..redis import RedisRateLimiter, RedisTicketStore

    url = ctx["cme_redis_url"]
    store = RedisTicketStore(url)
    limiter = RedisRateLimiter(url, rate=ctx["cme_rate"]) if ctx.get("cme_rate") else None
    options: dict[str, Any] = {
        "ticket_store": store,
        "on_retry": count_attempts,
        "deadline": ctx["cme_deadline"],
        "max_concurrency": ctx["cme_concurrency"],
    }
    if limiter is not None:
        options["rate_limit"] = limiter
    client = AsyncCmeClient.from_env(ctx.get("cme_environ"), **options)
    await client.__aenter__()
    # The calls this worker sends at once (the client's max_concurrency): an item claims
    # its "sending" mark only once it holds one, so a killed worker leaves unknown only
    # the items that were really in flight, not every item of its queued chunks.
    slots = asyncio.Semaphore(ctx["cme_concurrency"])
    ctx.update(cme_client=client, cme_store=store, cme_limiter=limiter, cme_slots=slots)
    logger.info("cme worker ready: %r", client)


async def _shutdown(ctx: dict[str, Any]) -> None:
    client = ctx.get("cme_client")
    if client is not None:
        await client.aclose()
    for name in ("cme_limiter", "cme_store"):
        resource = ctx.get(name)
        if resource is not None:
            await resource.aclose()


async def cme_call(
    ctx: dict[str, Any],
    batch_id: str,
    items: list[dict[str, Any]],
    safety: list[bool],
    deadline: float | None,
) -> int:
    """The arq job: run a chunk of items at once, pushing each result as it is known.

    A non-replay-safe item is sent only by the try that claims its ``sending`` mark
    (HSETNX), so a try that finds it claimed (an earlier try of this job died, or is
    stalled past arq's in-progress expiry) reports it as outcome unknown instead. On a
    second try an item marked ``done`` is skipped.
    """
    redis = ctx["redis"]
    job_id = str(ctx["job_id"])
    marks_name, results = marks_key(batch_id, job_id), results_key(batch_id)
    marks: dict[Any, Any] = {}
    if ctx.get("job_try", 1) > 1:
        marks = await redis.hgetall(marks_name)
    limit = ctx["cme_deadline"] if deadline is None else min(deadline, ctx["cme_deadline"])
    loop = asyncio.get_running_loop()
    slots = ctx.get("cme_slots") or ctx.setdefault(
        "cme_slots", asyncio.Semaphore(ctx.get("cme_concurrency") or 32)
    )  # (startup makes it; a worker of your own may not have)
    ends = loop.time() + limit  # every item ends within the job's deadline (arq's timeout)

    async def one(slot: str, item: dict[str, Any], replay_safe: bool) -> None:
        batch_item = BatchItem(
            str(item["id"]), item["action"], item.get("body") or {}, item.get("user_id")
        )
        mark = marks.get(slot.encode(), marks.get(slot))
        if mark in (b"done", "done"):
            return
        if mark in (b"sending", "sending"):
            result = _unknown(batch_item)
        else:
            async with slots:
                left = ends - loop.time()
                if left <= 0:
                    result = _not_sent(batch_item)
                elif not (replay_safe or await _claim(redis, marks_name, slot)):
                    result = _unknown(batch_item)  # another try of this job claimed it
                else:
                    executor = LocalExecutor(ctx["cme_client"], deadline=left)
                    result = await executor(batch_item, replay_safe)
        tagged = {**result.to_dict(), "cme_job": job_id, "cme_slot": slot}
        async with redis.pipeline(transaction=False) as pipe:
            pipe.rpush(results, dumps(tagged))
            pipe.expire(results, RESULTS_TTL)
            pipe.hset(marks_name, slot, "done")
            pipe.expire(marks_name, RESULTS_TTL)
            await pipe.execute()

    positions = [str(n) for n in range(len(items))]
    # Every item runs to its end before the job ends (a failure does not leave the
    # others running after arq has recorded the job as finished).
    outcomes = await asyncio.gather(*map(one, positions, items, safety), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return len(items)


def _not_sent(item: BatchItem) -> BatchResult:
    error = ItemError(
        "DeadlineExceeded", "not sent: the job's deadline passed while it waited for a free slot"
    )
    return failure(item.id, item.action, error, replay_safe=True, attempts=0)


def _unknown(item: BatchItem) -> BatchResult:
    error = ItemError("OutcomeUnknown", WORKER_DIED, may_have_run=True)
    return failure(item.id, item.action, error, replay_safe=False, attempts=0)


async def _claim(redis: Any, marks_name: str, slot: str) -> bool:
    """Mark the item ``sending``; False if a try of this job already had."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hsetnx(marks_name, slot, "sending")
        pipe.expire(marks_name, RESULTS_TTL)
        claimed, _ = await pipe.execute()
    return bool(claimed)


def worker_settings(
    redis_url: str,
    *,
    concurrency: int = 32,
    rate: float | None = None,
    deadline: float = DEFAULT_DEADLINE,
    queue_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """arq ``WorkerSettings`` (as a dict: ``arq.run_worker(worker_settings(url))``).

    The client is configured from ``environ`` (``os.environ`` by default): ``CME_*``
    as ``AsyncCmeClient.from_env`` reads them. A mapping given here is kept in arq's
    worker context (it holds the secret key): prefer the process environment.
    """
    from arq.worker import func

    timeout = deadline + JOB_TIMEOUT_MARGIN
    return {
        "functions": [func(cme_call, name=JOB_FUNCTION, timeout=timeout, max_tries=5)],
        # Jobs are chunks of items; the client's max_concurrency bounds the calls.
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "redis_settings": redis_settings(redis_url),
        "job_serializer": dump_job,  # JSON, never pickle (see dump_job)
        "job_deserializer": load_job,
        "queue_name": queue_name or DEFAULT_QUEUE,
        "max_jobs": max(2, concurrency // 4),
        "job_timeout": timeout,
        "keep_result": 600,
        "poll_delay": 0.1,
        # On SIGTERM/SIGINT: take no new jobs, let running calls finish.
        "job_completion_wait": int(timeout) + 1,
        "ctx": {
            "cme_redis_url": redis_url,
            "cme_rate": rate,
            "cme_deadline": deadline,
            "cme_concurrency": concurrency,
            "cme_environ": dict(environ) if environ is not None else None,
        },
    }


def run_worker(
    redis_url: str,
    *,
    concurrency: int = 32,
    rate: float | None = None,
    deadline: float = DEFAULT_DEADLINE,
    queue_name: str | None = None,
    burst: bool = False,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run an arq worker in the foreground until SIGINT/SIGTERM (or an empty queue, ``burst``)."""
    from arq.worker import create_worker

    settings = worker_settings(
        redis_url,
        concurrency=concurrency,
        rate=rate,
        deadline=deadline,
        queue_name=queue_name,
        environ=environ,
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(check_reachable(redis_url))  # seconds, not arq's minutes
        create_worker(settings, burst=burst).run()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
