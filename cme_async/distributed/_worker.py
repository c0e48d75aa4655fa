"""The worker side: arq startup/shutdown hooks holding one client per process, and the
job function that runs a chunk of items."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..batch import BatchItem, ItemError, LocalExecutor, count_attempts
from ..batch._results import failure
from ._keys import (
    DEFAULT_DEADLINE,
    DEFAULT_QUEUE,
    JOB_FUNCTION,
    JOB_TIMEOUT_MARGIN,
    RESULTS_TTL,
    WORKER_DIED,
    logger,
    mark_key,
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
    ctx.update(cme_client=client, cme_store=store, cme_limiter=limiter)
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

    On a second try (the first one's worker died), an item marked ``done`` is skipped
    and an item marked ``sending`` (not replay-safe) is reported as outcome unknown.
    """
    redis = ctx["redis"]
    keys = [mark_key(batch_id, str(item["id"])) for item in items]
    marks: list[Any] = [None] * len(items)
    if ctx.get("job_try", 1) > 1:
        marks = await redis.mget(keys)
    limit = ctx["cme_deadline"] if deadline is None else min(deadline, ctx["cme_deadline"])
    executor = LocalExecutor(ctx["cme_client"], deadline=limit)

    async def one(item: dict[str, Any], replay_safe: bool, key: str, mark: Any) -> None:
        batch_item = BatchItem(
            str(item["id"]), item["action"], item.get("body") or {}, item.get("user_id")
        )
        if mark in (b"done", "done"):
            return
        if mark in (b"sending", "sending"):
            error = ItemError("OutcomeUnknown", WORKER_DIED, may_have_run=True)
            result = failure(batch_item.id, batch_item.action, error, replay_safe=False, attempts=0)
        else:
            if not replay_safe:
                await redis.set(key, "sending", ex=RESULTS_TTL)
            result = await executor(batch_item, replay_safe)
        results = results_key(batch_id)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.rpush(results, result.to_json())
            pipe.expire(results, RESULTS_TTL)
            pipe.set(key, "done", ex=RESULTS_TTL)
            await pipe.execute()

    await asyncio.gather(*map(one, items, safety, keys, marks))
    return len(items)


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
    from arq.connections import RedisSettings
    from arq.worker import func

    timeout = deadline + JOB_TIMEOUT_MARGIN
    return {
        "functions": [func(cme_call, name=JOB_FUNCTION, timeout=timeout, max_tries=5)],
        # Jobs are chunks of items; the client's max_concurrency bounds the calls.
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "redis_settings": RedisSettings.from_dsn(redis_url),
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
        create_worker(settings, burst=burst).run()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
