"""The collecting side: items enqueued as arq jobs, results read back from the batch's
Redis list, and ``run``, the distributed twin of ``cme_async.batch.run``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterable, Iterable
from typing import Any

from ..batch import BatchItem, BatchResult, BatchRun, ItemError
from ..batch._progress import ProgressArg
from ..batch._results import failure
from ._keys import (
    ARQ_IN_PROGRESS_EXTRA,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DEADLINE,
    DEFAULT_QUEUE,
    JOB_FUNCTION,
    JOB_TIMEOUT_MARGIN,
    check_reachable,
    dump_job,
    load_job,
    logger,
    redis_settings,
    results_key,
)


class _Pending:
    __slots__ = ("future", "item", "job_id", "queued", "replay_safe", "slot", "started")

    def __init__(self, item: BatchItem, replay_safe: bool, future: asyncio.Future[BatchResult]):
        self.item = item
        self.replay_safe = replay_safe
        self.future = future
        self.started = time.monotonic()
        self.job_id: str | None = None
        self.slot = ""  # position in its job's chunk (the worker tags results with both)
        self.queued = False  # its job is known to be in arq's queue


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
        self._token = uuid.uuid4().hex[:8]
        # By item id; a list because ids repeat when the run does not check duplicates.
        self._pending: dict[str, list[_Pending]] = {}
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

        await check_reachable(self.redis_url)  # fail in seconds, not after arq's retries
        self._pool = await create_pool(
            redis_settings(self.redis_url),
            default_queue_name=self.queue_name,
            job_serializer=dump_job,
            job_deserializer=load_job,
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
        self._pending.setdefault(item.id, []).append(pending)
        self._buffer.append(pending)
        if len(self._buffer) >= self.chunk_size:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(0.02, self._flush)
        try:
            return await future
        finally:
            same_id = self._pending.get(item.id, [])
            if pending in same_id:
                same_id.remove(pending)
            if not same_id:
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
        # The run's own token too: a batch id given twice never meets the other run's
        # jobs (arq would refuse the id) nor, through the worker's tags, its results.
        job_id = f"cme:{self.batch_id}:{self._token}:{self._chunks}"
        for slot, pending in enumerate(chunk):
            pending.job_id, pending.slot = job_id, str(slot)
        try:
            job = await self._pool.enqueue_job(
                JOB_FUNCTION,
                self.batch_id,
                [p.item.to_dict() for p in chunk],
                [p.replay_safe for p in chunk],
                self.deadline,
                _job_id=job_id,
                _queue_name=self.queue_name,
            )
        except Exception as exc:  # raised before arq's transaction ran: nothing queued
            self._unsent(chunk, f"could not enqueue the job: {type(exc).__name__}: {exc}", False)
            return
        if job is None:
            # arq answers None when a connection error broke its WATCH/MULTI/EXEC, whether
            # or not Redis ran the EXEC (the id is ours alone). Ask Redis which it was.
            queued = await self._job_exists(job_id)
            if not queued:
                problem = "Redis dropped the connection while the job was being enqueued"
                if queued is None:
                    problem += "; it may be queued"
                self._unsent(chunk, problem, queued is None)
                return
        for pending in chunk:  # its results come as usual, or the sweep reports its end
            pending.queued = True

    @staticmethod
    def _unsent(chunk: list[_Pending], problem: str, maybe_queued: bool) -> None:
        for p in chunk:
            # Not known to be unqueued: a non-replay-safe item may still run.
            error = ItemError("EnqueueFailed", problem, may_have_run=maybe_queued)
            if not p.future.done():
                p.future.set_result(
                    failure(p.item.id, p.item.action, error, replay_safe=p.replay_safe, attempts=0)
                )

    async def _job_exists(self, job_id: str) -> bool | None:
        from arq.constants import job_key_prefix

        try:
            return bool(await self._pool.exists(job_key_prefix + job_id))
        except Exception:  # Redis still away: cannot tell
            return None

    async def _read_results(self) -> None:
        last_sweep = time.monotonic()
        while True:
            try:
                popped = await self._pool.blpop([results_key(self.batch_id)], timeout=1)
                if popped is not None:
                    self._take([popped[1]])
                    await self._drain()
                if time.monotonic() - last_sweep > 5.0:
                    last_sweep = time.monotonic()
                    await self._sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: results wait in their list
                from .._redis_base import describe

                logger.warning("cme batch: reading results from Redis failed: %s", describe(exc))
                await asyncio.sleep(1.0)

    async def _drain(self) -> None:
        """Take every result already in the list."""
        while True:
            more = await self._pool.lpop(results_key(self.batch_id), 500)
            if not more:
                return
            self._take(more)

    def _take(self, raws: list[Any]) -> None:
        for raw in raws:
            try:
                data = json.loads(raw)
                result = BatchResult.from_dict(data)
            except (ValueError, TypeError, AttributeError) as exc:
                # One unreadable entry must not lose the others popped with it.
                logger.warning("cme batch: skipped an unreadable result (%s)", type(exc).__name__)
                continue
            self._resolve(result, data.get("cme_job"), data.get("cme_slot"))

    def _resolve(self, result: BatchResult, job_id: object, slot: object) -> None:
        waiting = [p for p in self._pending.get(str(result.id), ()) if not p.future.done()]
        if job_id is not None:  # tagged by the worker: exactly that item
            waiting = [p for p in waiting if p.job_id == job_id and p.slot == slot]
        if waiting:
            waiting[0].future.set_result(result)

    async def _sweep(self) -> None:
        """Items of jobs arq ended without running our code to the end (timed out, too
        many tries): their job's failure record becomes their result."""
        from arq.jobs import Job, JobStatus

        now = time.monotonic()
        overdue: dict[str, list[_Pending]] = {}
        for same_id in list(self._pending.values()):
            for pending in same_id:
                late = now - pending.started >= self._overdue
                if pending.job_id and pending.queued and late and not pending.future.done():
                    overdue.setdefault(pending.job_id, []).append(pending)
        ended: dict[str, str] = {}
        for job_id in overdue:
            job = Job(job_id, self._pool, _queue_name=self.queue_name, _deserializer=load_job)
            info = await job.result_info()
            if info is not None:
                ended[job_id] = (
                    "ended without a result" if info.success else f"failed: {info.result}"
                )
            elif await job.status() == JobStatus.not_found:
                # Neither queued, running nor finished: Redis lost it (restarted without
                # persistence, evicted it) or its result outlived arq's keep_result.
                ended[job_id] = "vanished from Redis (restarted without persistence?)"
        if not ended:
            return
        # Our job function pushes every item's result before it returns, so results of a
        # job that has just ended may sit in the list unread: take them first.
        await self._drain()
        for job_id, verdict in ended.items():
            for p in overdue[job_id]:
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
