"""Labels of the contenders and the verdict on every target of the issues (``evaluate``)."""

from __future__ import annotations

from typing import Any

LABELS = {
    "httpx": "raw httpx",
    "httpx+httpx-aiohttp": "raw httpx on httpx-aiohttp",
    "httpx+cme-aiohttp": "raw httpx on cme_async's aiohttp transport",
    "aiohttp": "raw aiohttp",
    "sdk-httpx": "SDK on default httpx",
    "sdk-aiohttp": "SDK on native aiohttp",
    "sdk-httpx-base": "SDK on default httpx at c528741 (issue 14's today)",
    "sdk-aiohttp+gc.freeze": "SDK on native aiohttp, gc.freeze() on both sides",
    "seam-aiohttp": "the native transport alone (Transport.send + json.loads + Code)",
    "sdk-aiohttp+gc.pause": "what-if: SDK on native aiohttp, GC paused while structuring",
    "aiohttp+gc.freeze": "raw aiohttp, gc.freeze()",
    "vendor": "tencentcloud-sdk-python (async, keep-alive on)",
}
BODIES = {
    "small": "small answer: DeleteMaterial (64 B)",
    "large": "large answer: SearchMaterial, 50 full MaterialInfo (105 KB), typed by the SDK",
    "describe": "vs the vendor SDK: DescribeMaterials, 10 MaterialInfo (21 KB)",
}


def _cell(results: dict[str, Any], contender: str, body: str, concurrency: int) -> dict[str, Any]:
    for row in results.get("throughput", []):
        if (row["contender"], row["body"], row["concurrency"]) == (contender, body, concurrency):
            return dict(row)
    return {}


def _rate(results: dict[str, Any], contender: str, body: str, concurrency: int) -> float | None:
    value = _cell(results, contender, body, concurrency).get("calls_per_s")
    return float(value) if value else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target of the issue: measured value, requirement, met or not."""
    targets: list[dict[str, Any]] = []

    def add(name: str, value: float | None, op: str, bound: float, detail: str = "") -> None:
        if value is None:
            met = None
        elif op == ">=":
            met = value >= bound
        elif op == "<=":
            met = value <= bound
        elif op == ">":
            met = value > bound
        else:
            met = value == bound
        targets.append(
            {"target": name, "value": value, "op": op, "bound": bound, "met": met, "detail": detail}
        )

    def ratio(a: str, b: str, body: str, concurrency: int) -> tuple[float | None, str]:
        """The paired median when measured, else the ratio of the two cell medians."""
        cells = _ratio(_rate(results, a, body, concurrency), _rate(results, b, body, concurrency))
        cell_text = f"cell medians {cells:.2f}×" if cells is not None else ""
        for pair in results.get("pairs", []):
            if (pair["a"], pair["b"], pair["body"], pair["concurrency"]) == (
                a,
                b,
                body,
                concurrency,
            ) and pair.get("ratio"):
                parts = [
                    f"median of {pair['pairs']} back-to-back pairs, range "
                    f"{pair['ratio_min']:.2f}–{pair['ratio_max']:.2f}",
                    f"by CPU per call {pair['cpu_ratio']:.2f}×" if pair.get("cpu_ratio") else "",
                    cell_text,
                ]
                return pair["ratio"], "; ".join(p for p in parts if p)
        return cells, cell_text

    def add_ratio(
        name: str, a: str, b: str, body: str, c: int, op: str, bound: float, note: str = ""
    ) -> None:
        value, detail = ratio(a, b, body, c)
        add(name, value, op, bound, "; ".join(x for x in (detail, note) if x))

    # Issue 14: the limit of Python itself, and the default road no slower than before.
    add_ratio(
        "SDK on native aiohttp ÷ raw aiohttp (json.loads + Code) (c=100, small)",
        "sdk-aiohttp",
        "aiohttp",
        "small",
        100,
        ">=",
        0.8,
    )
    add_ratio(
        "SDK on native aiohttp, typed ÷ raw aiohttp + json.loads (c=100, large)",
        "sdk-aiohttp",
        "aiohttp",
        "large",
        100,
        ">=",
        0.7,
    )
    for body, c in (("small", 100), ("large", 100), ("small", 10)):
        add_ratio(
            f"SDK on default httpx ÷ the default road at c528741 (c={c}, {body})",
            "sdk-httpx",
            "sdk-httpx-base",
            body,
            c,
            ">=",
            1.0,
        )
    flight = results.get("in_flight", {})
    native, raw = flight.get("sdk-aiohttp", {}), flight.get("httpx", {})
    if native.get("peak_rss_mb") and raw.get("peak_rss_mb"):
        add(
            f"peak RSS with {native.get('calls', 0):,} calls in flight, SDK on native aiohttp "
            "÷ raw httpx",
            native["peak_rss_mb"] / raw["peak_rss_mb"],
            "<=",
            1.0,
            f"{native['peak_rss_mb']:.1f} MB vs {raw['peak_rss_mb']:.1f} MB",
        )
    else:
        add("peak RSS with calls in flight, SDK on native aiohttp ÷ raw httpx", None, "<=", 1.0)
    add_ratio(
        "SDK on native aiohttp ÷ raw httpx on the same aiohttp transport (c=100, small)",
        "sdk-aiohttp",
        "httpx+cme-aiohttp",
        "small",
        100,
        ">=",
        0.85,
    )
    add_ratio(
        "SDK on native aiohttp ÷ raw httpx on httpx-aiohttp's transport (c=100, small)",
        "sdk-aiohttp",
        "httpx+httpx-aiohttp",
        "small",
        100,
        ">=",
        0.85,
        "httpx-aiohttp's stock transport, which the SDK does not use (see README)",
    )
    add_ratio(
        "SDK on native aiohttp ÷ SDK on default httpx (c=100, small)",
        "sdk-aiohttp",
        "sdk-httpx",
        "small",
        100,
        ">=",
        4.0,
    )
    add_ratio(
        "SDK on native aiohttp ÷ SDK on default httpx (c=100, large)",
        "sdk-aiohttp",
        "sdk-httpx",
        "large",
        100,
        ">=",
        4.0,
    )
    parsing = results.get("micro", {}).get("parsing", {})
    add(
        "typed parse of SearchMaterial (envelope + models) ÷ json.loads of the same body",
        parsing.get("typed_parse_over_json_loads"),
        "<=",
        3.0,
        (
            f"GC on; with the GC off (timeit's default) "
            f"{parsing['typed_parse_over_json_loads_gc_off']:.2f}×"
            if "typed_parse_over_json_loads_gc_off" in parsing
            else ""
        ),
    )
    for concurrency in (10, 100):
        for sdk in ("sdk-httpx", "sdk-aiohttp"):
            add_ratio(
                f"{LABELS[sdk]} ÷ vendor SDK, DescribeMaterials (c={concurrency})",
                sdk,
                "vendor",
                "describe",
                concurrency,
                ">",
                1.0,
            )
    for name, storm in results.get("login_storm", {}).items():
        add(
            f"login storm, {LABELS[name]}: logins for {storm.get('concurrency')} first calls",
            storm.get("logins"),
            "==",
            1,
            f"last answer after {storm['seconds']:.2f} s" if "seconds" in storm else "",
        )
    imports = results.get("imports", {})
    add(
        "import cme_async ÷ import httpx (fresh processes, median)",
        imports.get("ratio"),
        "<=",
        2.0,
        (
            f"{imports['import_cme_async_ms']:.0f} ms vs {imports['import_httpx_ms']:.0f} ms"
            if "ratio" in imports
            else ""
        ),
    )
    return targets
