"""Names shared by the worker and the collecting side: the queue, the job function,
the Redis keys of a batch, and the timing constants."""

from __future__ import annotations

import logging

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


def results_key(batch_id: str) -> str:
    return f"cme:batch:{batch_id}:results"


def mark_key(batch_id: str, item_id: str) -> str:
    """Per item: ``sending`` before a non-replay-safe call goes out, ``done`` after its result."""
    return f"cme:batch:{batch_id}:item:{item_id}"
