"""Client-side limits for batch work: calls in flight and calls per second.

Both live outside the httpx pool, so a call waits here for its turn instead of
waiting inside httpx until a ``PoolTimeout``. Neither primitive is created before
it is first used inside a running loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping


class TokenBucket:
    """Calls per second with a burst allowance; callers reserve a slot and sleep until it.

    Reservation (rather than poll-and-retry) keeps waiters in arrival order and wakes
    each exactly once. A cancelled waiter gives its reservation back.
    """

    __slots__ = ("_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"rate limit must be positive, got {rate}")
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        self._tokens = self.burst
        self._updated = time.monotonic()

    def _reserve(self) -> float:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        delay = self._reserve()
        if delay <= 0:
            return
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self._tokens += 1.0
            raise


class Limits:
    """The concurrency slot and rate buckets a client's calls pass through."""

    __slots__ = ("_action_rates", "_buckets", "_overall", "_semaphore", "max_concurrency")

    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        rate_limit: float | None = None,
        action_rate_limit: float | Mapping[str, float] | None = None,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self._semaphore: asyncio.Semaphore | None = None
        self._overall = TokenBucket(rate_limit) if rate_limit is not None else None
        self._action_rates = action_rate_limit
        self._buckets: dict[str, TokenBucket] = {}
        if isinstance(action_rate_limit, Mapping):
            for action, rate in action_rate_limit.items():
                self._buckets[action] = TokenBucket(rate)
        elif action_rate_limit is not None:
            TokenBucket(action_rate_limit)  # validate now, not on first call

    @property
    def active(self) -> bool:
        return (
            self.max_concurrency is not None
            or self._overall is not None
            or self._action_rates is not None
        )

    def semaphore(self) -> asyncio.Semaphore | None:
        if self.max_concurrency is None:
            return None
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._semaphore

    async def wait_rate(self, action: str) -> None:
        if self._overall is not None:
            await self._overall.acquire()
        rates = self._action_rates
        if rates is None:
            return
        bucket = self._buckets.get(action)
        if bucket is None:
            if isinstance(rates, Mapping):
                return  # only the listed actions are limited
            bucket = self._buckets[action] = TokenBucket(rates)
        await bucket.acquire()

    def in_flight(self) -> int:
        if self._semaphore is None or self.max_concurrency is None:
            return 0
        return self.max_concurrency - self._semaphore._value
