"""The benchmark harness runs one tiny round end to end (no nginx, no vendor SDK).

Benchmarks are not tests: this only checks that ``make bench`` has a working harness
and writes results of the documented shape.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

from benchmarks import run


def test_one_tiny_round_writes_the_three_result_files(tmp_path: Path) -> None:
    assert run.main(["--quick", "--target", "aiohttp", "--out", str(tmp_path), "--no-chart"]) == 0
    results = json.loads((tmp_path / "latest.json").read_text())

    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["python"]
    assert machine["packages"]["httpx"] and machine["target"]["kind"] == "aiohttp"

    rows = results["throughput"]
    seen = {(r["contender"], r["body"], r["concurrency"]) for r in rows}
    for contender in run.CONTENDERS:
        for body in ("small", "large"):
            assert (contender, body, 2) in seen
    for row in rows:
        assert row["errors"] == 0, row
        assert row["calls_per_s"] > 0 and row["p50_ms"] <= row["p99_ms"], row
        assert row["cpu_us_per_call"] > 0

    pairs = {(p["a"], p["b"], p["body"]): p for p in results["pairs"]}
    assert pairs[("sdk-aiohttp", "httpx+cme-aiohttp", "small")]["ratio"] > 0
    limit = pairs[("sdk-aiohttp", "aiohttp", "small")]  # the native road vs raw aiohttp
    assert limit["group"] == "limit" and limit["ratio"] > 0 and limit["errors"] == 0
    assert limit["a_cpu_us_per_call"] > 0 and limit["b_cpu_us_per_call"] > 0
    if "baseline" in results:  # a git checkout: the old default road ran from its own tree
        assert results["baseline"]["cme_async"].startswith(str(Path(tempfile.gettempdir())))
        assert pairs[("sdk-httpx", run.BASELINE_NAME, "small")]["ratio"] > 0

    storm = results["login_storm"]
    assert {name: s["logins"] for name, s in storm.items()} == {"sdk-httpx": 1, "sdk-aiohttp": 1}
    flight = results["in_flight"]
    assert set(flight) == set(run.IN_FLIGHT)
    assert all(v["errors"] == 0 and v["peak_rss_mb"] > 0 for v in flight.values())
    assert results["micro"]["parsing"]["json_loads_us"] > 0
    assert results["micro"]["overhead"]["small"]["raw_httpx_us"] > 0
    assert results["imports"]["import_httpx_ms"] > 0

    targets = {t["target"]: t for t in results["targets"]}
    assert any(name.startswith("login storm") and t["met"] for name, t in targets.items())
    rss = [t for name, t in targets.items() if name.startswith("peak RSS")]
    assert len(rss) == 1 and rss[0]["value"] > 0
    markdown = (tmp_path / "latest.md").read_text()
    assert markdown.startswith("**Machine:**")
    assert "| raw aiohttp |" in markdown and "### Targets" in markdown
    assert "### Limit: the SDK on each road against raw aiohttp" in markdown


def test_the_gc_paused_what_if_wraps_the_converters_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    # The "+gc.pause" contender patches cme_async._converter.parse; a change of its
    # signature must fail here, not as a row of errors in the next `make bench`.
    import gc

    from benchmarks import bodies, contenders
    from cme_async import _converter
    from cme_async._generated.material import SearchMaterialResponse

    monkeypatch.setattr(_converter, "parse", _converter.parse)  # restored after the test
    contenders.pause_gc_while_structuring()
    assert getattr(_converter.parse, "gc_paused", False)
    data = json.loads(bodies.build()["large"])["Data"]
    seen: list[str] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        seen.append(phase)

    gc.collect()
    gc.callbacks.append(on_gc)  # the list object gc itself reads (not a module attribute)
    try:
        result = _converter.parse(SearchMaterialResponse, data, "Material/SearchMaterial")
    finally:
        gc.callbacks.remove(on_gc)
    assert len(result.material_info_set) == bodies.SEARCH_ITEMS
    # ~1,500 containers: unpatched, young collections run inside; paused, none does.
    assert gc.isenabled() and seen == []
