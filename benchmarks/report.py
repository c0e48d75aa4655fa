"""Turn a run's results into a markdown report and a chart (verdicts: ``targets``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .targets import BODIES, LABELS, _cell

README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def machine_line(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    packages = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())
    target = m.get("target", {})
    load = m.get("load_average_start")
    load_end = m.get("load_average_end")
    loads = ""
    if load and load_end:
        loads = f"; load average {load[0]:.2f} at start, {load_end[0]:.2f} at end"
    return (
        f"**Machine:** {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
        f"{m.get('implementation', 'Python')} {m.get('python', '?')}, {m.get('os', '?')}; "
        f"target: {target.get('kind', '?')} ({target.get('version', '?')}) on 127.0.0.1{loads}. "
        f"Packages: {packages}. Run finished {results.get('finished_at', '?')} "
        f"({results.get('profile', '?')} profile, {_fmt(results.get('wall_seconds'), 0)} s)."
    )


def markdown(results: dict[str, Any]) -> str:
    lines: list[str] = [machine_line(results), ""]
    if results.get("note"):
        lines += [f"*{results['note']}*", ""]
    lines += ["### Targets", "", "| target | measured | required | |", "|---|---|---|---|"]
    for t in results.get("targets", []):
        verdict = {True: "met", False: "**missed**", None: "not measured"}[t["met"]]
        value = t["value"]
        shown = _fmt(value) + ("×" if isinstance(value, float) else "")
        detail = f" ({t['detail']})" if t["detail"] else ""
        lines.append(f"| {t['target']}{detail} | {shown} | {t['op']} {t['bound']} | {verdict} |")
    lines += limit_tables(results)
    pairs = [p for p in results.get("pairs", []) if p.get("group", "targets") != "limit"]
    if pairs:
        lines += [
            "",
            "Ratio targets are measured as back-to-back pairs of short cells (alternating which "
            "runs first), and the median of the per-pair ratios is used: on a shared machine a "
            "ratio of two separately taken medians drifts with the load.",
            "",
            "| A ÷ B | answer | c | median | range | by CPU per call | A calls/s | B calls/s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in pairs:
            lines.append(
                f"| {LABELS.get(p['a'], p['a'])} ÷ {LABELS.get(p['b'], p['b'])} | {p['body']} | "
                f"{p['concurrency']} | {_fmt(p['ratio'])}× | {_fmt(p['ratio_min'])}–"
                f"{_fmt(p['ratio_max'])} | {_fmt(p['cpu_ratio'])}× | "
                f"{_fmt(p['a_calls_per_s'], 0)} | {_fmt(p['b_calls_per_s'], 0)} |"
            )
    rows = results.get("throughput", [])
    concurrencies = sorted({r["concurrency"] for r in rows})
    for body in ("small", "large", "describe"):
        contenders = list(dict.fromkeys(r["contender"] for r in rows if r["body"] == body))
        if not contenders:
            continue
        lines += ["", f"### Throughput — {BODIES[body]}", ""]
        lines.append("calls/s (p50 / p99 latency in ms); CPU µs per call of the client process")
        lines.append("")
        header = "| contender | " + " | ".join(f"c={c}" for c in concurrencies) + " |"
        lines += [header, "|---|" + "---|" * len(concurrencies)]
        for name in contenders:
            cells = []
            for c in concurrencies:
                cell = _cell(results, name, body, c)
                if not cell or cell.get("calls_per_s") is None:
                    cells.append("n/a")
                    continue
                errors = f", {cell['errors']} errors" if cell.get("errors") else ""
                cells.append(
                    f"**{cell['calls_per_s']:,.0f}** ({cell['p50_ms']:.1f} / {cell['p99_ms']:.1f})"
                    f" · {_fmt(cell.get('cpu_us_per_call'), 0)} µs{errors}"
                )
            lines.append(f"| {LABELS.get(name, name)} | " + " | ".join(cells) + " |")
    # The SDK's own CPU per call beyond the raw client of the same HTTP library.
    overhead_pairs = [("sdk-httpx", "httpx"), ("sdk-aiohttp", "aiohttp")]
    if any(_cell(results, a, "small", c) for a, _ in overhead_pairs for c in concurrencies):
        lines += [
            "",
            "### SDK overhead: CPU µs per call beyond the raw client of the same HTTP library",
            "",
            "From the throughput cells above (client-process CPU ÷ calls; noisy at low rates):",
            "",
            "| pair | answer | " + " | ".join(f"c={c}" for c in concurrencies) + " |",
            "|---|---|" + "---|" * len(concurrencies),
        ]
        for sdk, raw in overhead_pairs:
            for body in ("small", "large"):
                cells = []
                for c in concurrencies:
                    a = _cell(results, sdk, body, c).get("cpu_us_per_call")
                    b = _cell(results, raw, body, c).get("cpu_us_per_call")
                    cells.append(_fmt(a - b, 0) if a is not None and b is not None else "n/a")
                lines.append(
                    f"| {LABELS[sdk]} − {LABELS[raw]} | {body} | " + " | ".join(cells) + " |"
                )
    overhead = results.get("micro", {}).get("overhead", {})
    if "small" in overhead:
        lines += [
            "",
            "In process, one call at a time through the same `httpx.MockTransport` (no network; "
            "best of rounds), µs of CPU per call; the last column runs the SDK over a mock "
            "transport that declares `cancel_safe` (the httpx road then sends without its "
            'background task, as it does over `aiohttp_http_client()` with `transport="httpx"`):',
            "",
            "| answer | raw httpx + json.loads | SDK `client.call` | SDK typed method | "
            "SDK typed, cancel-safe transport | SDK overhead (typed / cancel-safe) |",
            "|---|---|---|---|---|---|",
        ]
        for body in ("small", "large"):
            o = overhead[body]
            safe = o.get("sdk_typed_cancel_safe_us")
            lines.append(
                f"| {body} | {o['raw_httpx_us']:.1f} | {o['sdk_call_us']:.1f} | "
                f"{o['sdk_typed_us']:.1f} | {_fmt(safe, 1)} | {o['sdk_overhead_us']:+.1f} / "
                f"{o.get('sdk_cancel_safe_overhead_us', float('nan')):+.1f} |"
            )
    vendor = results.get("micro", {}).get("vendor")
    if vendor:
        lines += [
            "",
            "Client CPU per DescribeMaterials call (10 items) through one `httpx.MockTransport` "
            f"(no network; best of rounds): tencentcloud-sdk-python {vendor['vendor_us']:.0f} µs, "
            f"the SDK {vendor['sdk_us']:.0f} µs (the vendor SDK spends "
            f"{vendor['vendor_over_sdk']:.2f}× the SDK's CPU per call).",
        ]
    parsing = results.get("micro", {}).get("parsing", {})
    if parsing:
        gcs = parsing.get("gc_collections_per_typed_parse", [0, 0, 0])
        lines += [
            "",
            f"### Typed parsing ({parsing['items']} MaterialInfo, {parsing['body_bytes']:,} bytes)",
            "",
            "| µs per answer | GC on (as programs run) | GC off (timeit default) |",
            "|---|---|---|",
        ]
        for key, label in (
            ("json_loads_us", "json.loads"),
            ("orjson_loads_us", "orjson.loads (the SDK's decoder when installed)"),
            ("typed_parse_us", "SDK: envelope + typed models"),
            ("structure_only_us", "typed structuring alone"),
        ):
            if key in parsing:
                lines.append(f"| {label} | {parsing[key]:.0f} | {parsing[key + '_gc_off']:.0f} |")
        lines += [
            f"| typed parse ÷ json.loads | {parsing['typed_parse_over_json_loads']:.2f}× | "
            f"{parsing['typed_parse_over_json_loads_gc_off']:.2f}× |",
            "",
            f"GC collections per typed parse (gen0, gen1, gen2): "
            f"{', '.join(f'{g:.2f}' for g in gcs)}.",
        ]
    storm = results.get("login_storm", {})
    flight = results.get("in_flight", {})
    if storm or flight:
        lines += ["", "### Login storm and memory", ""]
        lines += ["| | " + " | ".join(LABELS[n] for n in storm or flight) + " |"]
        lines += ["|---|" + "---|" * len(storm or flight)]
        names = list(storm or flight)
        if storm:
            lines.append(
                f"| logins for {next(iter(storm.values())).get('concurrency')} concurrent first "
                "calls | " + " | ".join(_fmt(storm[n].get("logins")) for n in names) + " |"
            )
            lines.append(
                "| time to the last answer (s) | "
                + " | ".join(_fmt(storm[n].get("seconds")) for n in names)
                + " |"
            )
        if flight:
            calls = next(iter(flight.values())).get("calls")
            lines.append(
                f"| peak RSS with {calls:,} calls in flight (MB) | "
                + " | ".join(_fmt(flight[n].get("peak_rss_mb"), 1) for n in names)
                + " |"
            )
            lines.append(
                "| RSS before the burst (MB) | "
                + " | ".join(_fmt(flight[n].get("rss_before_mb"), 1) for n in names)
                + " |"
            )
            window = next(iter(flight.values())).get("window_s")
            lines.append(
                f"| calls finished within the {window:g} s sampling window | "
                + " | ".join(f"{flight[n].get('finished_in_window', 0):,}" for n in names)
                + " |"
            )
    imports = results.get("imports", {})
    codegen = results.get("codegen", {})
    if imports or codegen:
        lines += ["", "### Start-up and tooling", ""]
        if imports:
            lines.append(
                f"- `import cme_async`: {imports['import_cme_async_ms']:.0f} ms, `import httpx`: "
                f"{imports['import_httpx_ms']:.0f} ms (median of {imports['runs']} fresh "
                f"processes; ratio {imports['ratio']:.2f})."
            )
        if codegen:
            if "error" in codegen:
                lines.append(f"- `make codegen`: failed ({codegen['error'][:200]})")
            else:
                lines.append(
                    f"- `make codegen` ({codegen['command']}): {codegen['seconds']:.1f} s, "
                    f"{codegen['files_written']} files."
                )
    if results.get("log"):
        lines += ["", "Notes: " + "; ".join(results["log"])]
    return "\n".join(lines) + "\n"


def limit_tables(results: dict[str, Any]) -> list[str]:
    """Issue 14's "limit" table (each SDK road against raw aiohttp, from back-to-back
    pairs) and peak RSS with calls in flight on every contender that measured it."""
    lines: list[str] = []
    limit = [p for p in results.get("pairs", []) if p.get("group") == "limit"]
    if limit:
        lines += [
            "",
            "### Limit: the SDK on each road against raw aiohttp",
            "",
            "Raw aiohttp posts the same bytes, `json.loads` the answer and checks `Code`; the "
            "SDK returns typed results (50 `MaterialInfo` for the large answer). Each row is "
            f"{limit[0]['pairs']} back-to-back pairs (alternating which runs first) in this "
            "run; ratio and CPU difference are medians of the per-pair values.",
            "",
            "| SDK road | answer | c | SDK calls/s | raw aiohttp calls/s | SDK ÷ raw aiohttp "
            "(range) | SDK CPU µs/call | raw aiohttp CPU µs/call | SDK CPU beyond raw aiohttp "
            "(µs/call) | of which in the GC: SDK / raw (µs/call) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        order = {
            "sdk-aiohttp": 0,
            "sdk-httpx": 1,
            "seam-aiohttp": 2,
            "sdk-aiohttp+gc.freeze": 3,
            "sdk-aiohttp+gc.pause": 4,
            "small": 0,
            "large": 1,
        }
        for p in sorted(limit, key=lambda p: (order[p["a"]], order[p["body"]], p["concurrency"])):
            lines.append(
                f"| {LABELS.get(p['a'], p['a'])} | {p['body']} | {p['concurrency']} | "
                f"{_fmt(p['a_calls_per_s'], 0)} | {_fmt(p['b_calls_per_s'], 0)} | "
                f"**{_fmt(p['ratio'])}×** ({_fmt(p['ratio_min'])}–{_fmt(p['ratio_max'])}) | "
                f"{_fmt(p.get('a_cpu_us_per_call'), 0)} | {_fmt(p.get('b_cpu_us_per_call'), 0)} | "
                f"{_fmt(p.get('cpu_us_beyond_b'), 0)} | {_fmt(p.get('a_gc_us_per_call'), 0)} / "
                f"{_fmt(p.get('b_gc_us_per_call'), 0)}"
                + (f" ({p['errors']:,} failed calls)" if p.get("errors") else "")
                + " |"
            )
    flight = results.get("in_flight", {})
    if flight:
        calls = next(iter(flight.values())).get("calls", 0)
        window = next(iter(flight.values())).get("window_s", 0)
        names = list(flight)
        lines += [
            "",
            f"Peak RSS with {calls:,} small calls in flight at once (fresh process per "
            f"contender, sampled every 20 ms for up to {window:g} s; the SDK queues beyond its "
            "`max_concurrency` of 100, raw clients in their pools of 100 connections):",
            "",
            "| | " + " | ".join(LABELS.get(n, n) for n in names) + " |",
            "|---|" + "---|" * len(names),
            "| peak RSS (MB) | "
            + " | ".join(_fmt(flight[n].get("peak_rss_mb"), 1) for n in names)
            + " |",
            "| RSS before the burst (MB) | "
            + " | ".join(_fmt(flight[n].get("rss_before_mb"), 1) for n in names)
            + " |",
            "| growth (MB) | "
            + " | ".join(_fmt(flight[n].get("peak_minus_before_mb"), 1) for n in names)
            + " |",
            f"| calls finished within {window:g} s | "
            + " | ".join(f"{flight[n].get('finished_in_window', 0):,}" for n in names)
            + " |",
        ]
    return lines


def chart(results: dict[str, Any], path: Path) -> str | None:
    """Throughput by concurrency, one line per contender; None when written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib not installed (make bench installs it)"
    rows = results.get("throughput", [])
    bodies = [b for b in ("small", "large", "describe") if any(r["body"] == b for r in rows)]
    if not bodies:
        return "chart skipped: no throughput rows"
    fig, axes = plt.subplots(1, len(bodies), figsize=(6 * len(bodies), 4.8), squeeze=False)
    styles = {
        "httpx": ("tab:red", "--"),
        "httpx+httpx-aiohttp": ("tab:orange", "--"),
        "httpx+cme-aiohttp": ("tab:olive", "--"),
        "aiohttp": ("tab:gray", "--"),
        "sdk-httpx": ("tab:blue", "-"),
        "sdk-aiohttp": ("tab:green", "-"),
        "vendor": ("tab:purple", "-"),
    }
    for ax, body in zip(axes[0], bodies, strict=True):
        for name in dict.fromkeys(r["contender"] for r in rows if r["body"] == body):
            points = sorted(
                (r["concurrency"], r["calls_per_s"])
                for r in rows
                if r["body"] == body and r["contender"] == name and r["calls_per_s"]
            )
            if not points:
                continue
            color, style = styles.get(name, ("black", "-"))
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker="o",
                color=color,
                linestyle=style,
                label=LABELS.get(name, name),
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("concurrency (calls in flight)")
        ax.set_ylabel("calls/s")
        ax.set_title(BODIES[body], fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    m = results.get("machine", {})
    fig.suptitle(
        f"cme-async throughput — {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
        f"Python {m.get('python', '?')}, target {m.get('target', {}).get('kind', '?')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def update_readme(readme: Path, markdown_text: str) -> None:
    """Replace the block between the results markers of ``benchmarks/README.md``."""
    if not readme.exists():
        return
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    block = f"{README_START}\n{markdown_text}\n![throughput](results/latest.png)\n{README_END}"
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)
    readme.write_text(pattern.sub(lambda _: block, text, count=1))
