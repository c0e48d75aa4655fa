"""Knobs tests turn: injected failures, latency, rate limits, and the call counters."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

FailureKind = Literal["code", "http_status", "malformed", "drop_connection"]


@dataclass(slots=True)
class FailRule:
    action: str | None  # "Material/SearchMaterial", "Login", or None for any request
    kind: FailureKind
    remaining: int
    code: str | None = None
    http_status: int | None = None
    message: str | None = None
    retry_after: float | None = None


@dataclass(slots=True)
class _Bucket:
    rate: float
    burst: float
    tokens: float
    last: float


@dataclass
class Controls:
    rules: list[FailRule] = field(default_factory=list)
    latencies: dict[str | None, float] = field(default_factory=dict)
    limits: dict[str | None, tuple[float, float]] = field(default_factory=dict)
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    logins: int = 0
    login_attempts: int = 0

    def take_failure(self, key: str) -> FailRule | None:
        """The first armed rule for ``key`` (consuming one of its ``times``)."""
        for rule in self.rules:
            if rule.action is None or rule.action == key:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
                return rule
        return None

    def delay(self, key: str) -> float:
        found = self.latencies.get(key)
        return found if found is not None else self.latencies.get(None, 0.0)

    def rate_limited(self, key: str) -> bool:
        """Token bucket per action; True when this request is over the limit."""
        limit = self.limits.get(key) or self.limits.get(None)
        if limit is None:
            return False
        rate, burst = limit
        now = time.monotonic()
        bucket = self.buckets.get(key)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = self.buckets[key] = _Bucket(rate, burst, burst, now)
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.last) * bucket.rate)
        bucket.last = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return False
        return True
