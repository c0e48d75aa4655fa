"""Knobs tests turn: injected failures (the next N, or at random), latency, rate limits,
random ticket expiry.

The counters and the request log sit beside them in :class:`~._ledger.Ledger`.
Rate limits use the SDK's own :class:`cme_async._limits.TokenBucket`, asked to take
a token now or refuse (the emulator answers ``RequestLimitExceeded`` rather than wait).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from .._limits import TokenBucket
from .._options import positive
from ._ledger import DEFAULT_LOG_SIZE, Ledger
from .world.tickets import Session

FailureKind = Literal["code", "http_status", "malformed", "drop_connection"]
LOGIN = "Login"


def seconds_or_zero(value: object, name: str) -> float:
    """A finite number of seconds, 0 or more (NaN, infinities, booleans and negative
    numbers refused, naming ``name``)."""
    if value == 0 and not isinstance(value, bool):
        return 0.0
    return positive(value, name, "seconds (or 0)")


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
class RandomExpiry:
    """End a ticket at random when a call presents it (after ``min_uses`` calls it served)."""

    probability: float
    rng: random.Random
    min_uses: int = 1
    users: frozenset[str] | None = None

    def hits(self, session: Session) -> bool:
        if self.users is not None and session.user_id not in self.users:
            return False
        return session.uses >= self.min_uses and self.rng.random() < self.probability


@dataclass(slots=True)
class RandomFault:
    """Fail each request to ``action`` (None: any) with ``probability``, the way ``rule`` says."""

    action: str | None
    probability: float
    rng: random.Random
    rule: FailRule


@dataclass
class Controls:
    """Every knob, and the ledger.  ``known`` names the actions ``action_key`` accepts."""

    known: Collection[str] = ()
    rules: list[FailRule] = field(default_factory=list)
    latencies: dict[str | None, float] = field(default_factory=dict)
    limits: dict[str | None, tuple[float, float]] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    random_expiry: RandomExpiry | None = None
    random_faults: dict[str | None, RandomFault] = field(default_factory=dict)
    ledger: Ledger = field(default_factory=lambda: Ledger(DEFAULT_LOG_SIZE))

    def reset(self) -> None:
        """Forget failures, latency, limits, random expiry and the counters and log."""
        self.rules.clear()
        self.latencies.clear()
        self.limits.clear()
        self.buckets.clear()
        self.random_expiry = None
        self.random_faults.clear()
        self.ledger.reset()

    # ---- naming ----------------------------------------------------------------------
    def action_key(self, action: str) -> str:
        """``SearchMaterial`` or ``Material.SearchMaterial`` -> ``Material/SearchMaterial``."""
        if action == LOGIN:
            return action
        key = action.replace(".", "/")
        if "/" in key:
            if key not in self.known:
                raise ValueError(f"unknown action {action!r}")
            return key
        matches = [k for k in self.known if k.split("/", 1)[1] == key]
        if len(matches) != 1:
            raise ValueError(f"unknown or ambiguous action {action!r}")
        return matches[0]

    def _key(self, action: str | None) -> str | None:
        return None if action is None else self.action_key(action)

    # ---- setting knobs ---------------------------------------------------------------
    def fail_next(
        self,
        action: str | None,
        *,
        code: str | None = None,
        http_status: int | None = None,
        malformed: bool = False,
        drop_connection: bool = False,
        times: int = 1,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.rules.append(
            self._rule(
                action, code, http_status, malformed, drop_connection, times, message, retry_after
            )
        )

    def fail_randomly(
        self,
        probability: float,
        action: str | None = None,
        *,
        seed: int | str | None = None,
        code: str | None = None,
        http_status: int | None = None,
        malformed: bool = False,
        drop_connection: bool = False,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        if not 0 <= probability <= 1:
            raise ValueError(f"probability must be within [0, 1], got {probability}")
        if code is None and http_status is None and not malformed and not drop_connection:
            code = "InternalError"
        rule = self._rule(
            action, code, http_status, malformed, drop_connection, 1, message, retry_after
        )
        if probability == 0:
            self.random_faults.pop(rule.action, None)
        else:
            fault = RandomFault(rule.action, probability, random.Random(seed), rule)
            self.random_faults[rule.action] = fault

    def _rule(
        self,
        action: str | None,
        code: str | None,
        http_status: int | None,
        malformed: bool,
        drop_connection: bool,
        times: int,
        message: str | None,
        retry_after: float | None,
    ) -> FailRule:
        kinds: list[FailureKind] = []
        if code is not None:
            kinds.append("code")
        if http_status is not None:
            kinds.append("http_status")
        if malformed:
            kinds.append("malformed")
        if drop_connection:
            kinds.append("drop_connection")
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of code=, http_status=, malformed=True, drop_connection=True"
            )
        if code is not None and (not isinstance(code, str) or code in ("", "Success")):
            raise ValueError(f"code must be an error code such as 'InternalError', got {code!r}")
        if http_status is not None and (
            isinstance(http_status, bool)
            or not isinstance(http_status, int)
            or not 400 <= http_status <= 599
        ):
            raise ValueError(f"http_status must be an error status, 400-599, got {http_status!r}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a whole number, at least 1, got {times!r}")
        if message is not None and not isinstance(message, str):
            raise ValueError(f"message must be text, got {type(message).__name__}")
        if retry_after is not None:
            retry_after = seconds_or_zero(retry_after, "retry_after")
        return FailRule(
            self._key(action),
            kinds[0],
            times,
            code=code,
            http_status=http_status,
            message=message,
            retry_after=retry_after,
        )

    def latency(self, seconds: float, action: str | None = None) -> None:
        key = self._key(action)
        if seconds_or_zero(seconds, "latency") == 0:
            self.latencies.pop(key, None)
        else:
            self.latencies[key] = seconds

    def rate_limit(
        self, action: str | None, per_second: float | None, *, burst: float | None = None
    ) -> None:
        key = self._key(action)
        if per_second is None:
            self.limits.pop(key, None)
        else:
            bucket = TokenBucket(per_second, burst)  # checks the numbers now
            self.limits[key] = (bucket.rate, bucket.burst)
        if key is None:
            self.buckets.clear()
        else:
            self.buckets.pop(key, None)

    def expire_randomly(
        self,
        probability: float,
        *,
        seed: int | str | None = None,
        min_uses: int = 1,
        users: Collection[str] | None = None,
    ) -> None:
        if not 0 <= probability <= 1:
            raise ValueError(f"probability must be within [0, 1], got {probability}")
        if min_uses < 0:
            raise ValueError("min_uses must not be negative")
        if probability == 0:
            self.random_expiry = None
            return
        chosen = None if users is None else frozenset(users)
        self.random_expiry = RandomExpiry(probability, random.Random(seed), min_uses, chosen)

    # ---- reading knobs (the app) -----------------------------------------------------
    def take_failure(self, key: str) -> FailRule | None:
        """The first armed rule for ``key`` (consuming one of its ``times``)."""
        for rule in self.rules:
            if rule.action is None or rule.action == key:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
                return rule
        if self.random_faults:
            for chosen in (key, None):
                fault = self.random_faults.get(chosen)
                if fault is not None and fault.rng.random() < fault.probability:
                    return fault.rule
        return None

    def delay(self, key: str) -> float:
        found = self.latencies.get(key)
        return found if found is not None else self.latencies.get(None, 0.0)

    def rate_limited(self, key: str) -> bool:
        """True when this request to ``key`` is over its limit (each action its own bucket)."""
        if not self.limits:
            return False
        bucket = self.buckets.get(key)
        if bucket is None:
            limit = self.limits.get(key) or self.limits.get(None)
            if limit is None:
                return False
            bucket = self.buckets[key] = TokenBucket(*limit)
        return not bucket.try_acquire()
