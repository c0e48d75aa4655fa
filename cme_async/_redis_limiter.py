"""``RedisRateLimiter``: one calls-per-second limit shared by every process (GCRA in Lua)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, Literal

from ._errors import RateLimiterError
from ._limits import LocalRateLimiter, check_rate
from ._options import positive, seconds
from ._redis_base import (
    DEFAULT_SOCKET_TIMEOUT,
    Connection,
    aioredis,
    bounded,
    client_options,
    describe,
)

logger = logging.getLogger("cme_async")

#: How far ahead (seconds) the limiter reserves a slot instead of asking again later.
DEFAULT_MAX_RESERVE = 1.0
#: Seconds the limiter stays on its in-process fallback before asking Redis again.
FALLBACK_RETRY_AFTER = 5.0

# GCRA on the server's clock, in microseconds. ARGV: emission interval, burst tolerance
# (burst x interval), how far ahead a slot may be reserved. Returns 0 (go now), a
# positive wait (a slot is reserved: go after it) or a negative wait (nothing reserved:
# ask again after it).
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local wait = tat + interval - tonumber(ARGV[2]) - now
if wait > tonumber(ARGV[3]) then
  return -math.max(1, math.ceil(wait - tonumber(ARGV[3])))
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
           'PX', math.ceil((new_tat - now) / 1000) + 1000)
if wait <= 0 then return 0 end
return math.ceil(wait)
"""


class RedisRateLimiter:
    """One calls-per-second limit shared by every process on the same Redis.

    ``AsyncCmeClient(..., rate_limit=RedisRateLimiter(url, rate=50, burst=50))`` limits all
    calls together; as ``action_rate_limit=`` each action gets its own limit. The check is a
    GCRA in one Lua script on Redis's clock (``TIME``), so hosts with skewed clocks agree.
    A caller whose turn is less than ``max_reserve`` seconds away reserves it and sleeps
    (one round trip); a caller further back sleeps and asks again, so a cancelled caller
    wastes at most ``max_reserve`` seconds of the shared limit.

    ``on_error="raise"`` (default) fails closed: Redis unreachable -> ``RateLimiterError``,
    the call is not sent. ``on_error="local"`` falls back to an in-process limit of the
    same rate for ``FALLBACK_RETRY_AFTER`` seconds at a time (N processes may then send
    N times the rate together).
    """

    def __init__(
        self,
        redis_url_or_client: str | aioredis.Redis,
        *,
        rate: float,
        burst: float | None = None,
        prefix: str = "cme:",
        on_error: Literal["raise", "local"] = "raise",
        max_reserve: float = DEFAULT_MAX_RESERVE,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        redis_options: dict[str, Any] | None = None,
    ) -> None:
        check_rate(rate, "rate")
        if burst is not None:
            positive(burst, "burst", "calls")
            if burst < 1:
                raise ValueError(f"burst must be at least 1 call, got {burst!r}")
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, got {prefix!r}")
        if on_error not in ("raise", "local"):
            raise ValueError(f"on_error must be 'raise' or 'local', got {on_error!r}")
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        self.prefix = prefix
        self.on_error = on_error
        self.max_reserve = seconds(max_reserve, "max_reserve") or DEFAULT_MAX_RESERVE
        self._args = (
            1e6 / self.rate,  # emission interval (µs)
            1e6 * self.burst / self.rate,  # burst tolerance (µs)
            1e6 * self.max_reserve,
        )
        self._conn = Connection(
            redis_url_or_client, client_options(socket_timeout, dict(redis_options or {}))
        )
        self._conn.add_script("gcra", _GCRA)
        self._op_timeout = 3 * socket_timeout + 1.0
        self._local = LocalRateLimiter(self.rate, self.burst)
        self._fallback_until = 0.0
        self._probing = False
        self._name = f"RedisRateLimiter({self._conn.shown})"

    async def acquire(self, key: str) -> None:
        """Return when a call under ``key`` (``"*"`` or an action) may go."""
        while True:
            if self._fallback_until and (self._probing or time.monotonic() < self._fallback_until):
                await self._local.acquire(key)
                return
            # On the fallback, one caller at a time asks whether Redis is back; the others
            # keep to the local limit instead of all waiting out a hung server's timeout.
            probe = bool(self._fallback_until)
            if probe:
                self._probing = True
            try:
                wait = await self._ask(key)
            finally:
                if probe:
                    self._probing = False
            if wait is None:  # Redis failed and on_error="local"
                continue
            if wait >= 0:
                if wait:
                    await asyncio.sleep(wait / 1e6)
                return
            await asyncio.sleep(-wait / 1e6 * random.uniform(1.0, 1.1))

    async def _ask(self, key: str) -> int | None:
        problem = ""
        try:
            script = self._conn.script("gcra")
            answer = await bounded(
                script(keys=[f"{self.prefix}rate:{key}"], args=list(self._args)), self._op_timeout
            )
            if isinstance(answer, int) and not isinstance(answer, bool):
                if self._fallback_until:
                    logger.warning("cme_async: %s answers again; shared limit restored", self._name)
                    self._fallback_until = 0.0
                return answer
            problem = f"the limit script answered a {type(answer).__name__}, not an integer"
        except Exception as exc:  # every Redis failure becomes one error type
            problem = describe(exc)
        if self.on_error == "local":
            if not self._fallback_until:
                logger.warning(
                    "cme_async: %s failed (%s); limiting in this process only for %.0f s",
                    self._name,
                    problem,
                    FALLBACK_RETRY_AFTER,
                )
            self._fallback_until = time.monotonic() + FALLBACK_RETRY_AFTER
            return None
        raise RateLimiterError(problem, limiter=self._name)

    async def aclose(self) -> None:
        """Close the Redis client this limiter created (a client you passed stays open)."""
        await self._conn.aclose()

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter({self._conn.shown}, rate={self.rate!r}, burst={self.burst!r}, "
            f"prefix={self.prefix!r}, on_error={self.on_error!r})"
        )
