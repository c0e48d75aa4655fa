"""Counts while a batch runs (``BatchCounts``) and the summary at its end."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import attrs

from ._results import BatchResult

#: How many ids of unknown outcomes the summary lists by name.
_LISTED_UNKNOWN = 20


@attrs.frozen(slots=True)
class BatchCounts:
    """A snapshot of a running batch, as progress callbacks receive it."""

    done: int
    total: int | None
    ok: int
    failed: int
    unknown: int
    invalid: int
    skipped: int
    in_flight: int
    elapsed: float

    @property
    def errors(self) -> int:
        return self.failed + self.unknown + self.invalid

    @property
    def rate(self) -> float:
        """Results per second so far (items skipped from a checkpoint not counted)."""
        sent = self.done - self.skipped
        return sent / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)


@attrs.frozen
class ActionTiming:
    action: str
    calls: int
    mean: float
    max: float


@attrs.frozen
class BatchSummary:
    """Counts by outcome and by error code, the slowest actions and the wall time.

    ``skipped`` counts items a checkpoint already had as ok; ``not_started`` items the
    run never reached because it was stopped; ``unknown_ids`` the first few ids whose
    outcome is unknown (all of them are in the results file).
    """

    ok: int
    failed: int
    unknown: int
    invalid: int
    skipped: int
    not_started: int
    by_code: dict[str, int]
    slowest: tuple[ActionTiming, ...]
    unknown_ids: tuple[str, ...]
    wall_time: float
    interrupted: bool
    calls_per_second: float

    @property
    def total(self) -> int:
        return self.ok + self.failed + self.unknown + self.invalid + self.skipped

    @property
    def all_ok(self) -> bool:
        return not self.interrupted and self.failed == 0 and self.unknown == 0 and self.invalid == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "ok": self.ok,
            "failed": self.failed,
            "unknown": self.unknown,
            "invalid": self.invalid,
            "skipped": self.skipped,
            "not_started": self.not_started,
            "interrupted": self.interrupted,
            "by_code": dict(self.by_code),
            "slowest": [attrs.asdict(t) for t in self.slowest],
            "unknown_ids": list(self.unknown_ids),
            "wall_time": round(self.wall_time, 3),
            "calls_per_second": round(self.calls_per_second, 1),
        }

    def render(self) -> str:
        """The human summary (several lines)."""
        head = (
            f"{self.total} items in {self.wall_time:.1f}s ({self.calls_per_second:.0f} calls/s): "
            f"{self.ok} ok, {self.failed} failed, {self.unknown} outcome unknown, "
            f"{self.invalid} invalid"
        )
        if self.skipped:
            head += f", {self.skipped} already done"
        lines = [head]
        if self.interrupted:
            lines.append(
                f"stopped early: {self.not_started} item(s) not started; "
                "run again with the same checkpoint to continue"
            )
        if self.by_code:
            codes = ", ".join(
                f"{printable(code)} {n}" for code, n in sorted(self.by_code.items(), key=_desc)
            )
            lines.append(f"errors by code: {codes}")
        if self.unknown:
            shown = ", ".join(printable(item_id) for item_id in self.unknown_ids)
            hidden = self.unknown - len(self.unknown_ids)
            more = f" (+{hidden} more)" if hidden > 0 else ""
            lines.append(
                f"outcome unknown (may have run on CME, not sent again): {shown}{more}; "
                "check them, then rerun with --retry-unknown / retry_unknown=True"
            )
        if self.slowest:
            slow = ", ".join(
                f"{t.action} mean {t.mean * 1000:.0f} ms max {t.max * 1000:.0f} ms"
                for t in self.slowest
            )
            lines.append(f"slowest actions: {slow}")
        return "\n".join(lines)


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (escape sequences, newlines)
    as Python escapes, so an id from the input file cannot rewrite what is shown."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _desc(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


class Tally:
    """Running counts and per-action timings of one run."""

    def __init__(self, total: int | None) -> None:
        self.started = time.monotonic()
        self.total = total
        self.counts: Counter[str] = Counter()
        self.by_code: Counter[str] = Counter()
        self.timings: dict[str, list[float]] = {}  # action -> [calls, sum, max]
        self.unknown_ids: list[str] = []
        self.in_flight = 0
        self.sent = 0

    def add(self, result: BatchResult) -> None:
        self.counts[result.outcome] += 1
        if result.error is not None:
            self.by_code[result.error.code or result.error.type] += 1
        if result.outcome == "unknown" and len(self.unknown_ids) < _LISTED_UNKNOWN:
            self.unknown_ids.append(str(result.id))
        if result.action is not None and result.elapsed is not None:
            timing = self.timings.setdefault(result.action, [0.0, 0.0, 0.0])
            timing[0] += 1
            timing[1] += result.elapsed
            timing[2] = max(timing[2], result.elapsed)

    def skip(self) -> None:
        self.counts["skipped"] += 1

    def snapshot(self) -> BatchCounts:
        c = self.counts
        done = c["ok"] + c["failed"] + c["unknown"] + c["invalid"] + c["skipped"]
        return BatchCounts(
            done=done,
            total=self.total,
            ok=c["ok"],
            failed=c["failed"],
            unknown=c["unknown"],
            invalid=c["invalid"],
            skipped=c["skipped"],
            in_flight=self.in_flight,
            elapsed=time.monotonic() - self.started,
        )

    def summary(self, *, interrupted: bool, not_started: int) -> BatchSummary:
        wall = time.monotonic() - self.started
        slowest = sorted(
            (ActionTiming(a, int(t[0]), t[1] / t[0], t[2]) for a, t in self.timings.items()),
            key=lambda t: -t.mean,
        )[:5]
        c = self.counts
        return BatchSummary(
            ok=c["ok"],
            failed=c["failed"],
            unknown=c["unknown"],
            invalid=c["invalid"],
            skipped=c["skipped"],
            not_started=not_started,
            by_code=dict(self.by_code),
            slowest=tuple(slowest),
            unknown_ids=tuple(self.unknown_ids),
            wall_time=wall,
            interrupted=interrupted,
            calls_per_second=self.sent / wall if wall > 0 else 0.0,
        )
