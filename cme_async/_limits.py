"""Client-side limits for batch work: calls in flight and calls per second.

Both live outside the httpx pool, so a call waits here for its turn instead of
waiting inside httpx until a ``PoolTimeout``. Neither primitive is created before
it is first used inside a running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

from ._options import positive


class TokenBucket:
    """Calls per second with a burst allowance; callers reserve a slot and sleep until it.

    Reservation (rather than poll-and-retry) keeps waiters in arrival order and wakes
    each exactly once. A cancelled waiter gives its reservation back.
    """

    __slots__ = ("_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        check_rate(rate, "rate limit")
        if burst is not None:
            check_rate(burst, "burst")
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

    def try_acquire(self) -> bool:
        """Take a slot now if one is free; otherwise take nothing and return False."""
        if self._reserve() <= 0:
            return True
        self._tokens += 1.0
        return False

    async def acquire(self) -> None:
        delay = self._reserve()
        if delay <= 0:
            return
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self._tokens += 1.0
            raise


@runtime_checkable
class RateLimiter(Protocol):
    """A calls-per-second limit the client waits on before each attempt.

    ``key`` is ``"*"`` for the overall limit (``rate_limit=``) and the action
    (``"Material/SearchMaterial"``) for a per-action limit (``action_rate_limit=``).
    ``acquire`` returns when the call may go; it raises a ``CmeError`` when it cannot
    decide (a shared limiter whose server is down). ``cme_async.redis.RedisRateLimiter``
    shares one limit among every process.
    """

    async def acquire(self, key: str) -> None: ...


class LocalRateLimiter:
    """In-process token buckets, one per key (what a plain number gives)."""

    __slots__ = ("_buckets", "burst", "rate")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        TokenBucket(rate, burst)  # validate now, not on first call
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    async def acquire(self, key: str) -> None:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        await bucket.acquire()

    def __repr__(self) -> str:
        rate, burst = getattr(self, "rate", None), getattr(self, "burst", None)
        return f"LocalRateLimiter(rate={rate!r}, burst={burst!r})"


def check_rate(value: object, name: str) -> float:
    return positive(value, name, "calls per second")


class Slots:
    """A counted semaphore with two queues: urgent waiters (an auth replay, which must
    send its brand-new ticket at once) are served before the others. A freed slot passes
    straight to the next waiter; a waiter cancelled after being handed one passes it on."""

    __slots__ = ("_normal", "_urgent", "free", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.free = size
        self._normal: deque[asyncio.Future[None]] = deque()
        self._urgent: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        if self.free > 0 and not self._urgent and (urgent or not self._normal):
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self.free += 1

    @property
    def in_use(self) -> int:
        return self.size - self.free


class Limits:
    """The concurrency slot and rate limits a client's calls pass through.

    The slot is counted here (not read from ``asyncio.Semaphore`` internals) and is
    released by a callback, so an exchange that outlives its cancelled caller keeps
    its slot until it really ends.
    """

    __slots__ = ("_action", "_listed", "_overall", "_slots", "max_concurrency")

    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        rate_limit: float | RateLimiter | None = None,
        action_rate_limit: float | Mapping[str, float] | RateLimiter | None = None,
    ) -> None:
        if max_concurrency is not None and (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)
            or max_concurrency < 1
        ):
            raise ValueError(
                f"max_concurrency must be a positive int or None, got {max_concurrency!r}"
            )
        self.max_concurrency = max_concurrency
        self._slots = Slots(max_concurrency) if max_concurrency is not None else None
        self._overall = self._limiter(rate_limit, "rate_limit")
        self._listed: frozenset[str] | None = None
        if isinstance(action_rate_limit, Mapping):
            for action, rate in action_rate_limit.items():
                check_rate(rate, f"action_rate_limit[{action!r}]")
            self._listed = frozenset(action_rate_limit)
            self._action: RateLimiter | None = _PerKey(
                {action: TokenBucket(rate) for action, rate in action_rate_limit.items()}
            )
        else:
            self._action = self._limiter(action_rate_limit, "action_rate_limit")

    @staticmethod
    def _limiter(value: float | RateLimiter | None, name: str) -> RateLimiter | None:
        if value is None:
            return None
        if isinstance(value, RateLimiter):
            return value
        check_rate(value, name)
        return LocalRateLimiter(value)

    @property
    def active(self) -> bool:
        return self.max_concurrency is not None or self.rated

    @property
    def rated(self) -> bool:
        """Is there any calls-per-second limit to wait for?"""
        return self._overall is not None or self._action is not None

    def take_slot(self) -> Callable[[], None] | None:
        """A free concurrency slot without waiting (nobody queued before us), or None."""
        slots = self._slots
        if slots is None or slots.free <= 0 or slots._normal or slots._urgent:
            return None
        slots.free -= 1
        return self._releaser(slots)

    async def acquire_slot(self, *, urgent: bool = False) -> Callable[[], None] | None:
        """Wait for a concurrency slot; the returned callable gives it back (once)."""
        slots = self._slots
        if slots is None:
            return None
        await slots.acquire(urgent=urgent)
        return self._releaser(slots)

    @staticmethod
    def _releaser(slots: Slots) -> Callable[[], None]:
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                slots.release()

        return release

    async def wait_rate(self, action: str) -> None:
        if self._overall is not None:
            await self._overall.acquire("*")
        if self._action is not None and (self._listed is None or action in self._listed):
            await self._action.acquire(action)

    def in_flight(self) -> int:
        """Exchanges holding a concurrency slot now (orphaned ones included)."""
        return 0 if self._slots is None else self._slots.in_use


class _PerKey:
    """Fixed per-action buckets from a mapping (only the listed actions are limited)."""

    __slots__ = ("_buckets",)

    def __init__(self, buckets: dict[str, TokenBucket]) -> None:
        self._buckets = buckets

    async def acquire(self, key: str) -> None:
        await self._buckets[key].acquire()
