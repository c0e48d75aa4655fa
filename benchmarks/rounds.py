"""Rounds of ``make bench``: the throughput matrix and the back-to-back pairs.

``run_matrix`` runs every contender in turn for each concurrency (rotating the order);
``run_pairs`` measures each ratio (the targets, the "limit" table, the diagnosis and the
baseline) as back-to-back pairs of short cells, alternating which side runs first.
"""

from __future__ import annotations

import statistics
from typing import Any

# "Today's default road" of issue 14: the tree its measurements were taken on (the last
# commit before the transport seam and the core redesign). Run as contender
# "sdk-httpx-base" from a `git archive` of cme_async/ at that commit (run.baseline_tree).
BASELINE = "c5287416f2cc0216d979e66e1c2ddbe3dc91135b"
BASELINE_NAME = "sdk-httpx-base"
CONCURRENCIES = [1, 10, 100, 1000]


class Profile:
    """How long and how often each cell runs."""

    def __init__(
        self, quick: bool, concurrencies: list[int] | None = None, pairs: int | None = None
    ) -> None:
        self.quick = quick
        self.concurrencies = concurrencies or ([2] if quick else CONCURRENCIES)
        self._pairs = pairs
        self.duration = 0.05 if quick else 0.5
        self.warmup = 0.01 if quick else 0.1
        self.in_flight_window = 1.0 if quick else 5.0
        self.storm = 20 if quick else 1000
        self.in_flight = 100 if quick else 10_000
        self.import_runs = 1 if quick else 9

    def rounds(self, concurrency: int) -> int:
        if self.quick or concurrency >= 1000:
            return 1  # httpx needs ~20 s per cell at c=1000; the differences are large there
        return 3 if concurrency in (10, 100) else 2

    @property
    def pairs(self) -> int:
        if self._pairs is not None:
            return self._pairs
        return 1 if self.quick else 6

    def seconds(self, concurrency: int) -> float:
        return self.duration * (2 if concurrency >= 1000 else 1)


def _median(values: list[float]) -> float | None:
    clean = [v for v in values if v is not None and v == v]
    return statistics.median(clean) if clean else None


def run_matrix(
    pool: dict[str, Any], names: list[str], body: str, profile: Profile, progress: Any
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for concurrency in profile.concurrencies:
        for name in names:  # fresh clients and pools for every group
            pool[name].ask({"op": "reset"})
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for r in range(profile.rounds(concurrency)):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                answer = pool[name].ask(
                    {
                        "op": "run",
                        "body": body,
                        "concurrency": concurrency,
                        "duration": profile.seconds(concurrency),
                        "warmup": profile.warmup,
                    }
                )
                rounds[name].append(answer)
                progress(
                    f"  {body:8s} c={concurrency:<5d} {name:20s} "
                    f"{answer.get('calls_per_s', 0):9.0f} calls/s"
                    + (f"  ERR {answer['error']}" if "error" in answer else "")
                    + (f"  errors={answer['errors']}" if answer.get("errors") else "")
                )
        for name in names:
            cells = [c for c in rounds[name] if "error" not in c]
            rows.append(
                {
                    "contender": name,
                    "body": body,
                    "concurrency": concurrency,
                    "calls_per_s": _median([c["calls_per_s"] for c in cells]),
                    "p50_ms": _median([c["p50_ms"] for c in cells]),
                    "p99_ms": _median([c["p99_ms"] for c in cells]),
                    "cpu_us_per_call": _median([c["cpu_us_per_call"] for c in cells]),
                    "errors": sum(c.get("errors", 0) for c in cells),
                    "rounds": rounds[name],
                }
            )
    return rows


# The ratio targets, measured as back-to-back pairs: (numerator, denominator, body, c).
PAIRS = [
    ("sdk-aiohttp", "httpx+cme-aiohttp", "small", 100),
    ("sdk-aiohttp", "httpx+httpx-aiohttp", "small", 100),
    ("sdk-aiohttp", "sdk-httpx", "small", 100),
    ("sdk-aiohttp", "sdk-httpx", "large", 100),
    ("sdk-httpx", "vendor", "describe", 10),
    ("sdk-httpx", "vendor", "describe", 100),
    ("sdk-aiohttp", "vendor", "describe", 10),
    ("sdk-aiohttp", "vendor", "describe", 100),
]
# The "limit" table (issue 14): each SDK road against raw aiohttp (json.loads + Code).
LIMIT_PAIRS = [
    (sdk, "aiohttp", body, c)
    for sdk in ("sdk-aiohttp", "sdk-httpx")
    for body in ("small", "large")
    for c in (100, 10)
] + [
    # The native transport without the rest of the SDK (Transport.send + json.loads + Code).
    ("seam-aiohttp", "aiohttp", "small", 100),
    # What the garbage collector costs the typed answer: both sides after gc.freeze(),
    # and the SDK with the collector paused while it structures (a what-if).
    ("sdk-aiohttp+gc.freeze", "aiohttp+gc.freeze", "large", 100),
    ("sdk-aiohttp+gc.pause", "aiohttp", "large", 100),
]
# Where the native road's time goes beyond its transport.
DIAGNOSIS_PAIRS = [("sdk-aiohttp", "seam-aiohttp", "small", 100)]
# Contenders that only run in pairs (their own worker processes).
PAIR_ONLY = ["seam-aiohttp", "sdk-aiohttp+gc.freeze", "aiohttp+gc.freeze", "sdk-aiohttp+gc.pause"]
# The default road against itself as of BASELINE ("no slower than today").
BASELINE_PAIRS = [
    ("sdk-httpx", BASELINE_NAME, "small", 100),
    ("sdk-httpx", BASELINE_NAME, "large", 100),
    ("sdk-httpx", BASELINE_NAME, "small", 10),
]


def pair_plan(quick: bool) -> list[tuple[str, tuple[str, str, str, int]]]:
    """(group, pair) in the order they run; the smoke round runs one of each group."""
    groups = [
        ("targets", PAIRS),
        ("limit", LIMIT_PAIRS),
        ("diagnosis", DIAGNOSIS_PAIRS),
        ("baseline", BASELINE_PAIRS),
    ]
    return [(group, pair) for group, pairs in groups for pair in (pairs[:1] if quick else pairs)]


def run_pairs(
    pool: dict[str, Any], profile: Profile, progress: Any, quick_concurrency: int | None
) -> list[dict[str, Any]]:
    """Each ratio target as ``pairs`` back-to-back A/B cells (alternating which goes first).

    Cells of a pair run a second apart, so a slow spell of the shared machine hits both;
    the median of the per-pair ratios is far steadier than a ratio of two medians.
    """
    out: list[dict[str, Any]] = []
    for group, (a, b, body, concurrency) in pair_plan(profile.quick):
        if a not in pool or b not in pool:
            continue
        if quick_concurrency is not None:
            concurrency = quick_concurrency
        for name in (a, b):
            pool[name].ask({"op": "reset"})
        command = {
            "op": "run",
            "body": body,
            "concurrency": concurrency,
            "duration": profile.duration * 0.8,
            "warmup": profile.warmup,
            "max_warmup": 1.5,
        }
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        cpu_diffs: list[float] = []
        cells: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for i in range(profile.pairs + 1):  # the first pair warms the pools and is dropped
            first, second = (a, b) if i % 2 else (b, a)
            answers = {first: pool[first].ask(command), second: pool[second].ask(command)}
            if i == 0:
                continue
            x, y = answers[a], answers[b]
            cells.append((x, y))
            if x.get("calls_per_s") and y.get("calls_per_s"):
                ratios.append(x["calls_per_s"] / y["calls_per_s"])
            if x.get("cpu_us_per_call") and y.get("cpu_us_per_call"):
                cpu_ratios.append(y["cpu_us_per_call"] / x["cpu_us_per_call"])
                cpu_diffs.append(x["cpu_us_per_call"] - y["cpu_us_per_call"])
        row = {
            "group": group,
            "a": a,
            "b": b,
            "body": body,
            "concurrency": concurrency,
            "pairs": len(ratios),
            "ratio": _median(ratios),
            "ratio_min": min(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
            "cpu_ratio": _median(cpu_ratios),
            "a_calls_per_s": _median([x.get("calls_per_s") for x, _ in cells]),
            "b_calls_per_s": _median([y.get("calls_per_s") for _, y in cells]),
            "a_cpu_us_per_call": _median([x.get("cpu_us_per_call") for x, _ in cells]),
            "b_cpu_us_per_call": _median([y.get("cpu_us_per_call") for _, y in cells]),
            "cpu_us_beyond_b": _median(cpu_diffs),
            "a_gc_us_per_call": _median([x.get("gc_us_per_call") for x, _ in cells]),
            "b_gc_us_per_call": _median([y.get("gc_us_per_call") for _, y in cells]),
            "errors": sum(c.get("errors", 0) for pair in cells for c in pair),
            "ratios": ratios,
        }
        out.append(row)
        progress(
            f"  {group} pair {a} / {b} ({body}, c={concurrency}): median {row['ratio'] or 0:.2f}x "
            f"(range {row['ratio_min'] or 0:.2f}-{row['ratio_max'] or 0:.2f}; "
            f"by CPU per call {row['cpu_ratio'] or 0:.2f}x)"
        )
    return out
