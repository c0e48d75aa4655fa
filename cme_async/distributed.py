"""The batch spread over worker processes and hosts, on arq (extra ``cme-async[distributed]``).

    # on each worker host (same Redis, CME_* set):
    cme worker --redis redis://cache:6379/0 --concurrency 32

    # anywhere:
    cme batch calls.jsonl --redis redis://cache:6379/0 --out results.jsonl

From Python: ``worker_settings(url)`` is the arq ``WorkerSettings``; ``run(url, items,
...)`` enqueues the items as arq jobs and yields their ``BatchResult``s with the same
checkpoint, resume, progress and summary as ``cme_async.batch.run``.

Each worker process holds one ``AsyncCmeClient`` (opened in arq's startup hook, closed in
its shutdown hook) that shares tickets through ``RedisTicketStore`` and, with ``rate=``,
one calls-per-second limit through ``RedisRateLimiter``, on the same Redis.

Jobs carry up to ``chunk_size`` items (arq starts jobs one at a time, a few Redis round
trips each, so a job per item would cap a worker at a few hundred calls per second); the
items of a job run at once and each result is pushed to the batch's results list as soon as
it is known.

Job safety: before an item that is not replay-safe is sent, its ``sending`` mark is set in
Redis; after its result is pushed, ``done``. If a worker dies, arq hands its job to another
worker once the job's in-progress key expires (``job_timeout`` + 10 s); that try skips the
items marked ``done`` and reports those marked ``sending`` as "outcome unknown" instead of
sending them again. Unfinished replay-safe items simply run again. ``job_timeout`` is the
call deadline plus ``JOB_TIMEOUT_MARGIN`` (not arq's 300 s), so a dead worker's jobs are taken
over, or reported, within ``deadline + 12 s + poll_delay`` (docs/batch.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from .batch import BatchItem, BatchResult, BatchRun, ItemError, LocalExecutor, count_attempts
from .batch._progress import ProgressArg
from .batch._results import failure

logger = logging.getLogger("cme_async.distributed")

DEFAULT_QUEUE = "cme:batch:queue"
JOB_FUNCTION = "cme_call"
#: Seconds added to the call deadline for arq's job timeout (queueing in the worker, Redis).
JOB_TIMEOUT_MARGIN = 2.0
#: arq keeps a job's in-progress key this much longer than its timeout (arq's constant).
ARQ_IN_PROGRESS_EXTRA = 10.0
DEFAULT_DEADLINE = 60.0
#: Items per arq job: arq starts jobs one at a time (a few Redis round trips each), so a
#: job per item would cap a worker at a few hundred calls per second.
DEFAULT_CHUNK_SIZE = 20
RESULTS_TTL = 24 * 3600
WORKER_DIED = (
    "the worker running this call stopped before answering; it may have run on CME. "
    "Check, then rerun with retry_unknown=True (cme batch --retry-unknown) to send it again"
)


def _results_key(batch_id: str) -> str:
    return f"cme:batch:{batch_id}:results"


def _mark_key(batch_id: str, item_id: str) -> str:
    """Per item: ``sending`` before a non-replay-safe call goes out, ``done`` after its result."""
    return f"cme:batch:{batch_id}:item:{item_id}"


# -- the worker side ----------------------------------------------------------------------


async def _startup(ctx: dict[str, Any]) -> None:
    from . import AsyncCmeClient
    from .redis import RedisRateLimiter, RedisTicketStore

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
    keys = [_mark_key(batch_id, str(item["id"])) for item in items]
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
        results = _results_key(batch_id)
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


# -- the collecting side --------------------------------------------------------------------


class _Pending:
    __slots__ = ("future", "item", "job_id", "replay_safe", "started")

    def __init__(self, item: BatchItem, replay_safe: bool, future: asyncio.Future[BatchResult]):
        self.item = item
        self.replay_safe = replay_safe
        self.future = future
        self.started = time.monotonic()
        self.job_id: str | None = None


class ArqExecutor:
    """Enqueues items as arq jobs of up to ``chunk_size`` items and waits for each
    item's result on the batch's results list (one Redis list per run).

    Used by ``run``; an async context manager (the arq pool and the reader task).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        queue_name: str | None = None,
        deadline: float = DEFAULT_DEADLINE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        batch_id: str | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name or DEFAULT_QUEUE
        self.deadline = deadline
        self.chunk_size = chunk_size
        self.batch_id = batch_id or uuid.uuid4().hex
        self._pending: dict[str, _Pending] = {}
        self._buffer: list[_Pending] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._chunks = 0
        self._reader: asyncio.Task[None] | None = None
        self._pool: Any = None
        # A job without results after this long is asked about (arq's own failure record).
        self._overdue = deadline + JOB_TIMEOUT_MARGIN + ARQ_IN_PROGRESS_EXTRA + 5.0

    async def __aenter__(self) -> ArqExecutor:
        from arq import create_pool
        from arq.connections import RedisSettings

        self._pool = await create_pool(
            RedisSettings.from_dsn(self.redis_url), default_queue_name=self.queue_name
        )
        self._reader = asyncio.create_task(self._read_results())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        for task in [self._reader, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._pool is not None:
            await self._pool.aclose()

    async def __call__(self, item: BatchItem, replay_safe: bool) -> BatchResult:
        future: asyncio.Future[BatchResult] = asyncio.get_running_loop().create_future()
        pending = _Pending(item, replay_safe, future)
        self._pending[item.id] = pending
        self._buffer.append(pending)
        if len(self._buffer) >= self.chunk_size:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(0.02, self._flush)
        try:
            return await future
        finally:
            self._pending.pop(item.id, None)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        chunk, self._buffer = self._buffer, []
        if chunk:
            task = asyncio.create_task(self._enqueue(chunk))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _enqueue(self, chunk: list[_Pending]) -> None:
        self._chunks += 1
        job_id = f"cme:{self.batch_id}:{self._chunks}"
        for pending in chunk:
            pending.job_id = job_id
        try:
            await self._pool.enqueue_job(
                JOB_FUNCTION,
                self.batch_id,
                [p.item.to_dict() for p in chunk],
                [p.replay_safe for p in chunk],
                self.deadline,
                _job_id=job_id,
                _queue_name=self.queue_name,
            )
        except Exception as exc:  # Redis down: nothing was queued, nothing ran
            error = ItemError(type(exc).__name__, f"could not enqueue the job: {exc}")
            for p in chunk:
                if not p.future.done():
                    p.future.set_result(
                        failure(p.item.id, p.item.action, error, replay_safe=True, attempts=0)
                    )

    async def _read_results(self) -> None:
        key = _results_key(self.batch_id)
        last_sweep = time.monotonic()
        while True:
            try:
                popped = await self._pool.blpop([key], timeout=1)
                if popped is not None:
                    more = await self._pool.lpop(key, 500)  # whatever else is already there
                    for raw in [popped[1], *(more or [])]:
                        self._resolve(BatchResult.from_dict(json.loads(raw)))
                if time.monotonic() - last_sweep > 5.0:
                    last_sweep = time.monotonic()
                    await self._sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: results wait in their list
                from ._redis_base import describe

                logger.warning("cme batch: reading results from Redis failed: %s", describe(exc))
                await asyncio.sleep(1.0)

    def _resolve(self, result: BatchResult) -> None:
        pending = self._pending.get(str(result.id))
        if pending is not None and not pending.future.done():
            pending.future.set_result(result)

    async def _sweep(self) -> None:
        """Items of jobs arq ended without running our code to the end (timed out, too
        many tries): their job's failure record becomes their result."""
        from arq.jobs import Job

        now = time.monotonic()
        overdue: dict[str, list[_Pending]] = {}
        for pending in list(self._pending.values()):
            late = now - pending.started >= self._overdue
            if pending.job_id and late and not pending.future.done():
                overdue.setdefault(pending.job_id, []).append(pending)
        for job_id, stuck in overdue.items():
            info = await Job(job_id, self._pool, _queue_name=self.queue_name).result_info()
            if info is None:
                continue  # still queued or running
            # Our job function always pushes every item's result before it returns, so
            # items still waiting after it ended (ok or not) get arq's verdict.
            verdict = "ended without a result" if info.success else f"failed: {info.result}"
            for p in stuck:
                error = ItemError(
                    "JobFailed", f"the arq job {verdict}", may_have_run=not p.replay_safe
                )
                if not p.future.done():
                    result = failure(
                        p.item.id, p.item.action, error, replay_safe=p.replay_safe, attempts=0
                    )
                    p.future.set_result(result)


def run(
    redis_url: str,
    items: Iterable[Any] | AsyncIterable[Any],
    *,
    concurrency: int = 256,
    checkpoint: str | os.PathLike[str] | None = None,
    retry_unknown: bool = False,
    progress: ProgressArg = None,
    total: int | None = None,
    deadline: float = DEFAULT_DEADLINE,
    queue_name: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    stop_signals: bool = True,
    grace: float = 30.0,
    check_duplicates: bool = True,
) -> BatchRun:
    """Like ``cme_async.batch.run``, but the calls run on ``cme worker`` processes.

    ``concurrency`` bounds the jobs enqueued and not yet answered; the workers' own
    ``--concurrency`` bounds the calls each one runs at once.
    """
    return BatchRun(
        ArqExecutor(redis_url, queue_name=queue_name, deadline=deadline, chunk_size=chunk_size),
        items,
        concurrency=concurrency,
        checkpoint=checkpoint,
        retry_unknown=retry_unknown,
        progress=progress,
        total=total,
        stop_signals=stop_signals,
        grace=grace,
        check_duplicates=check_duplicates,
    )
