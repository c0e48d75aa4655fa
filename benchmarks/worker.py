"""One benchmark contender in its own process, driven by JSON lines on stdin.

    python -m benchmarks.worker <contender> <base_url>

Commands (one JSON object per line, one JSON answer per line):

* ``{"op": "run", "body": "small", "concurrency": 100, "duration": 1.0, "warmup": 0.3}``:
  a closed loop of ``concurrency`` tasks calling the contender's request for ``body``;
  after a warm-up (at least ``warmup`` seconds and until every task has finished one
  call) it counts, for ``duration`` seconds, completed calls, their latencies and the
  process CPU time. Answer: ``calls``, ``elapsed``, ``cpu``, ``p50_ms``, ``p99_ms``,
  ``errors``.
* ``{"op": "login_storm", "concurrency": 1000}``: a fresh SDK client, ``concurrency``
  concurrent first calls; answer: ``logins``, ``seconds`` (to the last answer), ``errors``.
* ``{"op": "in_flight", "calls": 10000, "window": 5}``: ``calls`` concurrent small calls
  on a warm client (SDK or raw); answer: RSS before and the peak while they are in flight.
* ``{"op": "info"}``: where ``cme_async`` was imported from (the baseline check).
* ``{"op": "reset"}``: close the clients; the next command builds new ones.
* ``{"op": "quit"}``.

The clients live until the next ``reset`` (the harness resets before every answer
size × concurrency group), so the pools stay warm across the rounds of a group, as
they would in a batch job, while no group inherits a pool shaped by another (after
1,000 concurrent calls httpx's pool starves some requests for seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import resource
import sys
import time
from typing import Any

from .contenders import CallFn, Contender


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run_cell(
    call: CallFn,
    concurrency: int,
    duration: float,
    warmup: float,
    max_warmup: float = 8.0,
    max_drain: float = 3.0,
) -> dict[str, Any]:
    """Closed loop at ``concurrency``; counts only calls that end inside the timed window.

    Warm-up: at least ``warmup`` seconds and until every task has finished one call (at
    most ``max_warmup``). At the end the tasks stop starting calls and the calls in
    flight are awaited for up to ``max_drain`` seconds; only the rest are cancelled, and
    the answer says so (``cancelled``): cancelling httpx requests can leave its pool
    broken (httpcore's cancellation bugs), so the worker then rebuilds its clients.
    """
    state = {"measuring": False, "stop": False}
    latencies: list[float] = []
    errors: list[str] = []
    error_count = 0
    warmed = 0
    all_warm = asyncio.Event()
    perf = time.perf_counter

    async def loop() -> None:
        nonlocal warmed, error_count
        first = True
        while not state["stop"]:
            started = perf()
            try:
                await call()
            except Exception as exc:
                error_count += 1
                if len(errors) < 3:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                await asyncio.sleep(0.001)
                continue
            if state["measuring"]:
                latencies.append(perf() - started)
            if first:
                first = False
                warmed += 1
                if warmed == concurrency:
                    all_warm.set()

    # Time spent in the garbage collector inside the window (gc.callbacks: start/stop of
    # every collection), by generation: typed answers allocate thousands of containers.
    gc_seconds = 0.0
    gc_runs = [0, 0, 0]
    gc_started = 0.0

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        nonlocal gc_seconds, gc_started
        if phase == "start":
            gc_started = perf()
        elif state["measuring"]:
            gc_seconds += perf() - gc_started
            gc_runs[info["generation"]] += 1

    gc.collect()
    gc.callbacks.append(on_gc)
    tasks = [asyncio.create_task(loop()) for _ in range(concurrency)]
    warm_start = perf()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_warm.wait(), timeout=max_warmup)
    rest = warmup - (perf() - warm_start)
    if rest > 0:
        await asyncio.sleep(rest)
    cpu0 = time.process_time()
    t0 = perf()
    state["measuring"] = True
    await asyncio.sleep(duration)
    state["measuring"] = False
    elapsed = perf() - t0
    cpu = time.process_time() - cpu0
    gc.callbacks.remove(on_gc)
    calls = len(latencies)
    state["stop"] = True
    drain_start = perf()
    _done, pending = await asyncio.wait(tasks, timeout=max_drain)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=10)
    latencies.sort()
    return {
        "calls": calls,
        "elapsed": elapsed,
        "cpu": cpu,
        "calls_per_s": calls / elapsed if elapsed else 0.0,
        "cpu_us_per_call": cpu / calls * 1e6 if calls else None,
        "gc_us_per_call": gc_seconds / calls * 1e6 if calls else None,
        "gc_collections": gc_runs,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "warmup_s": t0 - warm_start,
        "warmed_tasks": warmed,
        "drain_s": perf() - drain_start,
        "cancelled": len(pending),
        "errors": error_count,
        "error_sample": errors,
    }


async def login_storm(contender: Contender, concurrency: int) -> dict[str, Any]:
    logins: list[Any] = []

    async def on_login(event: Any) -> None:
        logins.append(event)

    client = contender._sdk_client(on_login=on_login)
    delete = client.material.delete_material
    started = time.perf_counter()
    results = await asyncio.gather(
        *(delete(material_id=str(i)) for i in range(concurrency)), return_exceptions=True
    )
    seconds = time.perf_counter() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    return {
        "concurrency": concurrency,
        "logins": client.tokens.login_count,
        "login_events": len(logins),
        "seconds": seconds,
        "errors": len(errors),
        "error_sample": [repr(e)[:200] for e in errors[:3]],
    }


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def in_flight(contender: Contender, calls: int, window: float) -> dict[str, Any]:
    """Start ``calls`` calls at once; the peak RSS while they are in flight.

    RSS is sampled every 20 ms for at most ``window`` seconds (or until every call has
    ended). Calls still running then are cancelled: the process is fresh and exits
    afterwards, and the peak is reached right after the calls start.
    """
    call = await contender.call_for("small")
    await call()  # login and one connection, outside the measurement
    gc.collect()
    before = _rss_kb()
    peak = before
    started = time.perf_counter()
    tasks = [asyncio.ensure_future(call()) for _ in range(calls)]
    gathered = asyncio.gather(*tasks, return_exceptions=True)
    while not gathered.done() and time.perf_counter() - started < window:
        await asyncio.wait([gathered], timeout=0.02)
        peak = max(peak, _rss_kb())
    seconds = time.perf_counter() - started
    finished = sum(1 for t in tasks if t.done() and not t.cancelled() and t.exception() is None)
    failed = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(gathered, return_exceptions=True)
    return {
        "calls": calls,
        "window_s": window,
        "rss_before_mb": before / 1024,
        "peak_rss_mb": peak / 1024,
        "peak_minus_before_mb": (peak - before) / 1024,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "finished_in_window": finished,
        "seconds": seconds,
        "errors": len(failed),
        "error_sample": [repr(e)[:200] for e in failed[:3]],
    }


async def serve(name: str, base: str) -> None:
    contender = Contender(name, base)
    loop = asyncio.get_running_loop()
    out = sys.stdout
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            command = json.loads(line)
            op = command["op"]
            try:
                if op == "quit":
                    answer: dict[str, Any] = {"ok": True}
                elif op == "info":
                    import cme_async

                    answer = {"cme_async": cme_async.__file__}
                elif op == "reset":
                    await contender.aclose()
                    contender = Contender(name, base)
                    gc.collect()
                    answer = {"ok": True}
                elif op == "run":
                    call = await contender.call_for(command["body"])
                    answer = await run_cell(
                        call,
                        command["concurrency"],
                        command["duration"],
                        command["warmup"],
                        command.get("max_warmup", 3.0),
                    )
                    if answer["cancelled"]:  # a pool that saw cancellations is not reused
                        await contender.aclose()
                        contender = Contender(name, base)
                elif op == "login_storm":
                    answer = await login_storm(contender, command["concurrency"])
                elif op == "in_flight":
                    answer = await in_flight(contender, command["calls"], command["window"])
                else:
                    answer = {"error": f"unknown op {op!r}"}
            except Exception as exc:  # report, keep serving
                answer = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            out.write(json.dumps(answer) + "\n")
            out.flush()
            if op == "quit":
                break
    finally:
        await contender.aclose()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    asyncio.run(serve(args[0], args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
