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

Job safety: an item that is not replay-safe is claimed ``sending`` (HSETNX on the job's
marks hash, once it holds one of the worker's call slots) right before it is sent; after its
result is pushed, ``done``. If a worker dies, arq hands its job to another worker once the
job's in-progress key expires (``job_timeout`` + 10 s); that try skips the items marked
``done`` and reports those claimed ``sending`` as "outcome unknown" instead of sending them
again (as does a stalled try that wakes up to find its item claimed). Unfinished replay-safe
items simply run again. Results carry their job and position, so ids may repeat.
``job_timeout`` is the call deadline plus ``JOB_TIMEOUT_MARGIN`` (not arq's 300 s), so a dead
worker's jobs are taken over, or reported, within ``deadline + 12 s + poll_delay``
(docs/batch.md).
"""

from ._executor import ArqExecutor, run
from ._keys import (
    ARQ_IN_PROGRESS_EXTRA,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DEADLINE,
    DEFAULT_QUEUE,
    JOB_FUNCTION,
    JOB_TIMEOUT_MARGIN,
    RESULTS_TTL,
    WORKER_DIED,
)
from ._worker import cme_call, run_worker, worker_settings

__all__ = [
    "ARQ_IN_PROGRESS_EXTRA",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DEADLINE",
    "DEFAULT_QUEUE",
    "JOB_FUNCTION",
    "JOB_TIMEOUT_MARGIN",
    "RESULTS_TTL",
    "WORKER_DIED",
    "ArqExecutor",
    "cme_call",
    "run",
    "run_worker",
    "worker_settings",
]
