"""``make bench``: every contender against the same local target, in one run.

    python -m benchmarks.run                      # full run (nginx target), ~10 minutes
    python -m benchmarks.run --quick --target aiohttp --out /tmp/x   # smoke round, seconds

Steps: start the target (nginx from Debian's packages, installed if missing; else the
aiohttp server in its own process) → one worker process per contender
(``benchmarks/worker.py``; ``sdk-httpx-base`` runs the SDK of ``BASELINE``, extracted
with ``git archive``) → for every answer size and concurrency, rounds in which every
contender runs one cell in turn (rotating the order, so a noisy moment hits everyone) →
medians → the ratio targets and the "limit" table as back-to-back pairs → the extras
(typed parsing and SDK overhead in process, login storm, 10,000 calls in flight, import
time, codegen time) → ``results/latest.json``,
``results/latest.md``, ``results/latest.png`` and the results block of
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from . import report, targets
from .rounds import (
    BASELINE,
    BASELINE_NAME,
    PAIR_ONLY,
    Profile,
    run_matrix,
    run_pairs,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

RAW = ["httpx", "httpx+httpx-aiohttp", "httpx+cme-aiohttp", "aiohttp"]
SDK = ["sdk-httpx", "sdk-aiohttp"]
CONTENDERS = RAW + SDK
VENDOR_CONTENDERS = ["vendor", *SDK]
# Calls in flight at once, each contender in a fresh process: the SDK on both roads and
# the raw clients (the RSS target compares the native road with raw httpx).
IN_FLIGHT = ["httpx", "aiohttp", *SDK]

PACKAGES = [
    "cme-async",
    "httpx",
    "httpcore",
    "aiohttp",
    "httpx-aiohttp",
    "yarl",
    "attrs",
    "cattrs",
    "tencentcloud-sdk-python-common",
    "tencentcloud-sdk-python-cme",
    "matplotlib",
]


# -- processes ----------------------------------------------------------------------


class Worker:
    def __init__(self, name: str, base: str, cwd: Path = ROOT) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", name, base],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ask(self, command: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} died (exit {self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.ask({"op": "quit"}, timeout=30)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def workers(
    names: list[str], base: str, cwds: dict[str, Path] | None = None
) -> Iterator[dict[str, Worker]]:
    started = {name: Worker(name, base, (cwds or {}).get(name, ROOT)) for name in names}
    try:
        yield started
    finally:
        for worker in started.values():
            worker.close()


@contextlib.contextmanager
def baseline_tree(log: list[str]) -> Iterator[Path | None]:
    """A directory holding ``cme_async/`` as of ``BASELINE`` and a link to ``benchmarks/``.

    A worker started there imports the old package (the working directory comes first on
    ``sys.path``, before the editable install). None, with a note in ``log``, when the
    checkout has no git history (a tarball) or lacks the commit (a shallow clone).
    """
    with tempfile.TemporaryDirectory(prefix="cme-bench-baseline-") as scratch:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", BASELINE, "cme_async"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            log.append(
                f"baseline {BASELINE[:7]} unavailable ({done.stderr.decode().strip()[:200]}): "
                "SDK on default httpx not compared with it"
            )
            yield None
            return
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4+
                tar.extractall(scratch, filter="data")
            else:  # pragma: no cover - our own repository's files
                tar.extractall(scratch)
        (Path(scratch) / "benchmarks").symlink_to(HERE, target_is_directory=True)
        yield Path(scratch)


@contextlib.contextmanager
def target(kind: str, log: list[str]) -> Iterator[dict[str, Any]]:
    """The running target: ``{"kind", "url", "version"}``."""
    if kind in ("auto", "nginx"):
        from . import target_nginx

        nginx = target_nginx.start(log)
        if nginx is not None:
            try:
                yield {"kind": "nginx", "url": nginx.url, "version": nginx.version}
            finally:
                nginx.stop()
            return
        if kind == "nginx":
            raise RuntimeError("nginx target unavailable: " + "; ".join(log))
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.target_aiohttp", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"aiohttp target did not start: {line!r}")
        port = int(line.split()[1])
        yield {
            "kind": "aiohttp",
            "url": f"http://127.0.0.1:{port}",
            "version": f"aiohttp {metadata.version('aiohttp')} (Python server, own process)",
        }
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def import_times(runs: int) -> dict[str, Any]:
    def once(module: str) -> float:
        code = (
            "import time; t = time.perf_counter(); import " + module + "; "
            "print(time.perf_counter() - t)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return float(done.stdout.strip())

    once("cme_async")  # compile .pyc files first: measure warm imports, as users see them
    samples: dict[str, list[float]] = {"httpx": [], "cme_async": []}
    for _ in range(runs):
        for module in samples:
            samples[module].append(once(module))
    httpx_ms = statistics.median(samples["httpx"]) * 1000
    cme_ms = statistics.median(samples["cme_async"]) * 1000
    return {
        "runs": runs,
        "import_httpx_ms": httpx_ms,
        "import_cme_async_ms": cme_ms,
        "ratio": cme_ms / httpx_ms,
        "samples_ms": {k: [round(v * 1000, 2) for v in vs] for k, vs in samples.items()},
    }


def codegen_time() -> dict[str, Any]:
    """``make codegen``'s work (``python -m codegen``), written into a scratch directory."""
    if not (ROOT / "codegen").is_dir():
        return {"error": "no codegen/ directory"}
    with tempfile.TemporaryDirectory(prefix="cme-bench-codegen-") as out:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "codegen", "--out", out],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        files = sum(1 for p in Path(out).rglob("*") if p.is_file())
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-500:], "seconds": seconds}
    return {"seconds": seconds, "files_written": files, "command": "python -m codegen --out <tmp>"}


def micro(quick: bool) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.micro", *(["--quick"] if quick else [])]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-1000:]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def httpx_aiohttp_available() -> bool:
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


def vendor_available() -> bool:
    try:
        import tencentcloud.cme.v20191029.cme_client_async  # noqa: F401
    except ImportError:
        return False
    return True


def machine(target_info: dict[str, Any]) -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "packages": versions,
        "target": target_info,
        "load_average_start": os.getloadavg(),
    }


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # run the cleanups (workers, target) on SIGTERM


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one tiny round (smoke test)")
    parser.add_argument("--target", choices=["auto", "nginx", "aiohttp"], default="auto")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for latest.*")
    parser.add_argument("--no-vendor", action="store_true", help="skip tencentcloud-sdk-python")
    parser.add_argument("--no-readme", action="store_true", help="leave benchmarks/README.md")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument(
        "--concurrencies",
        type=lambda text: [int(c) for c in text.split(",")],
        help="throughput matrix only at these (e.g. 10,100; default 1,10,100,1000)",
    )
    parser.add_argument("--pairs", type=int, help="back-to-back pairs per ratio (default 6)")
    parser.add_argument(
        "--note",
        default=os.environ.get("CME_BENCH_NOTE", ""),
        help="a sentence printed under the machine line (default: $CME_BENCH_NOTE)",
    )
    args = parser.parse_args(argv)
    profile = Profile(args.quick, args.concurrencies, args.pairs)
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)

    log: list[str] = []
    shortened = args.concurrencies is not None or args.pairs is not None
    results: dict[str, Any] = {
        "profile": "quick" if args.quick else ("shortened" if shortened else "full"),
        "note": args.note,
    }
    with target(args.target, log) as target_info, baseline_tree(log) as old_tree:
        base = target_info["url"]
        results["machine"] = machine(target_info)
        progress(f"target: {target_info['kind']} {target_info['version']} at {base}")
        with_vendor = not args.no_vendor and not args.quick and vendor_available()
        names = list(CONTENDERS)
        if not httpx_aiohttp_available():
            names.remove("httpx+httpx-aiohttp")
            log.append("httpx-aiohttp not installed: its contender skipped")
        extra = (["vendor"] if with_vendor else []) + ([BASELINE_NAME] if old_tree else [])
        extra += [] if args.quick else PAIR_ONLY
        cwds = {BASELINE_NAME: old_tree} if old_tree else {}
        rows: list[dict[str, Any]] = []
        with workers(names + extra, base, cwds) as pool:
            if old_tree is not None:
                where = pool[BASELINE_NAME].ask({"op": "info"}).get("cme_async", "")
                if not where.startswith(str(old_tree)):
                    log.append(f"baseline worker imported {where}, not the baseline: dropped")
                    pool.pop(BASELINE_NAME).close()
                else:
                    results["baseline"] = {"commit": BASELINE, "cme_async": where}
            for body in ("small", "large"):
                rows += run_matrix(pool, names, body, profile, progress)
            if with_vendor:
                rows += run_matrix(pool, VENDOR_CONTENDERS, "describe", profile, progress)
            else:
                log.append("vendor SDK comparison skipped")
            progress("ratio targets, back-to-back pairs")
            results["pairs"] = run_pairs(
                pool, profile, progress, profile.concurrencies[-1] if args.quick else None
            )
            progress("login storm")
            results["login_storm"] = {
                name: pool[name].ask({"op": "login_storm", "concurrency": profile.storm})
                for name in SDK
            }
            if args.quick:  # the smoke round reuses the workers (a fresh process is cleaner)
                results["in_flight"] = {
                    name: pool[name].ask(
                        {"op": "in_flight", "calls": profile.in_flight, "window": 1.0}
                    )
                    for name in IN_FLIGHT
                }
        results["throughput"] = rows
        in_flight: dict[str, Any] = results.get("in_flight", {})
        if not in_flight:
            progress("calls in flight (fresh processes)")
        for name in [] if in_flight else IN_FLIGHT:
            with workers([name], base) as single:
                in_flight[name] = single[name].ask(
                    {
                        "op": "in_flight",
                        "calls": profile.in_flight,
                        "window": profile.in_flight_window,
                    }
                )
            progress(f"  {name:20s} peak RSS {in_flight[name].get('peak_rss_mb', 0):.1f} MB")
        results["in_flight"] = in_flight
        results["machine"]["load_average_end"] = os.getloadavg()
    progress("typed parsing and SDK overhead (in process)")
    results["micro"] = micro(args.quick)
    progress("import times")
    results["imports"] = import_times(profile.import_runs)
    if not args.quick:
        progress("codegen time")
        results["codegen"] = codegen_time()
    results["log"] = log
    results["targets"] = targets.evaluate(results)
    results["wall_seconds"] = time.perf_counter() - started
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    markdown = report.markdown(results)
    (args.out / "latest.md").write_text(markdown)
    if not args.no_chart:
        chart = report.chart(results, args.out / "latest.png")
        if chart is not None:
            log.append(chart)
    if not args.quick and not args.no_readme and args.out.resolve() == RESULTS.resolve():
        report.update_readme(HERE / "README.md", markdown)
    progress(markdown)
    progress(
        f"wrote {args.out}/latest.json, latest.md, latest.png in {results['wall_seconds']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
