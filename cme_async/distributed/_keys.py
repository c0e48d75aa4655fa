"""Names shared by the worker and the collecting side: the queue, the job function,
the Redis keys of a batch, and the timing constants."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arq.connections import RedisSettings

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
#: Retries of a Redis command whose connection failed (backoff 0.1 s doubling to 1 s):
#: workers and the collector ride out about REDIS_RETRY_SECONDS of Redis being away.
REDIS_RETRIES = 35
REDIS_RETRY_SECONDS = 30
WORKER_DIED = (
    "the worker running this call stopped before answering; it may have run on CME. "
    "Check, then rerun with retry_unknown=True (cme batch --retry-unknown) to send it again"
)


def results_key(batch_id: str) -> str:
    return f"cme:batch:{batch_id}:results"


def dump_job(data: dict[str, Any]) -> bytes:
    """arq's job and result serializer: JSON, not arq's default pickle. Unpickling what
    Redis holds would let anyone who can write an ``arq:job:*`` key run code in every
    worker (which holds the SecretKey). A job failure's exception becomes its text."""
    return json.dumps(data, default=_text, separators=(",", ":")).encode()


def load_job(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("an arq job or result that is not a JSON object")
    return data


def _text(value: object) -> str:
    return f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else str(value)


def marks_key(batch_id: str, job_id: str) -> str:
    """Per job, a hash with a field per item of the chunk (its position): ``sending``
    before a non-replay-safe call goes out (HSETNX: one try only may claim it), ``done``
    after its result. One key per job, not per item (~15 bytes an item for a day instead
    of ~180), and items with the same id in one batch never share a mark."""
    return f"cme:batch:{batch_id}:marks:{job_id}"


def redis_settings(url: str) -> RedisSettings:
    """arq's connection settings from the URL as redis-py reads it.

    arq's own ``RedisSettings.from_dsn`` ignores ``?password=`` and TLS options, and its
    errors quote pieces of a URL whose password was not percent-encoded; this one
    raises the store's masked ValueError and checks TLS host names as the store does.
    Commands are retried on a dropped connection for about ``REDIS_RETRY_SECONDS``: arq's
    worker loop ends (and ``cme worker`` with it) at the first error it sees, so without
    this a Redis restart stopped every worker.
    """
    from arq.connections import RedisSettings
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from .._redis_base import aioredis, parse_url

    options = parse_url(url, "redis_url")
    tls = options.get("connection_class") is aioredis.SSLConnection
    return RedisSettings(
        host=options.get("host", "localhost"),
        port=options.get("port", 6379),
        unix_socket_path=options.get("path"),
        database=options.get("db", 0),
        username=options.get("username"),
        password=options.get("password"),
        ssl=tls,
        ssl_keyfile=options.get("ssl_keyfile"),
        ssl_certfile=options.get("ssl_certfile"),
        ssl_cert_reqs=options.get("ssl_cert_reqs", "required"),
        ssl_ca_certs=options.get("ssl_ca_certs"),
        ssl_check_hostname=tls and options.get("ssl_check_hostname", True),
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), REDIS_RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionError],
    )


async def check_reachable(url: str, timeout: float = 5.0) -> None:
    """One PING with no retries, before arq connects: arq retries its first connection
    5 times over our ~30 s command retries, so an unreachable Redis took minutes to be
    reported. Raises redis-py's ConnectionError / TimeoutError (``cme``: exit 6)."""
    from .._redis_base import aioredis, parse_url

    options = parse_url(url, "redis_url")
    options.update(socket_connect_timeout=timeout, socket_timeout=timeout)
    client = aioredis.Redis(connection_pool=aioredis.ConnectionPool(**options))
    try:
        await client.ping()
    finally:
        await client.aclose()
