"""``cme batch`` calls/s against the emulator: one process, then 3 ``cme worker``s on arq.

    python -m benchmarks.batch_throughput [--items 5000] [--workers 3]

The emulator runs in its own process (``python -m cme_async.testing``), Redis is a real
``redis-server`` on a free loopback port. The emulator is one Python process, so on a
small machine it is often the ceiling: read the numbers as "what the emulator lets
through", and compare the two modes with each other, not with the real service.
Prints one JSON line per mode with calls/s and the emulator's login count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.redis_server import free_port, running_redis

ME = {"Type": "PERSON", "Id": "demo_user"}


def _items(n: int) -> list[dict[str, Any]]:
    scope = {"SearchScopes": [{"Platform": "1000000009", "Owner": ME}], "Limit": 5}
    out = []
    for i in range(n):
        if i % 10 == 0:
            body = {"ParentClassId": -1, "Name": f"bench-{i}", "Owner": ME}
            out.append({"id": str(i), "action": "Material/CreateClass", "body": body})
        else:
            out.append({"id": str(i), "action": "Material/SearchMaterial", "body": scope})
    return out


def _cme(env: dict[str, str], *args: str, **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cme_async.cli", *args], env=env, **kw)


def _counters(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_emulator/counters") as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the emulator waits before each answer (a latency-bound service)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="calls in flight per process (each worker too)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cme-bench-batch-"))
    calls = work / "calls.jsonl"
    calls.write_text("".join(json.dumps(item) + "\n" for item in _items(args.items)))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(
        [sys.executable, "-m", "cme_async.testing", "--seed", "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CME_")}
    env.update(
        CME_SECRET_ID="AKIDcmeFakeDemoSecretId000000000000",
        CME_SECRET_KEY="cmeFakeDemoSecretKey0000000000000",
        CME_PLATFORM="1000000009",
        CME_USER_ID="demo_user",
        CME_API_URL=url,
        CME_LOGIN_URL=url,
    )
    try:
        for _ in range(100):
            try:
                _counters(url)
                break
            except OSError:
                time.sleep(0.1)
        if args.latency:
            request = urllib.request.Request(
                f"{url}/_emulator/latency",
                data=json.dumps({"Seconds": args.latency}).encode(),
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(request).close()
        local = _cme(
            env,
            "batch",
            str(calls),
            "--out",
            str(work / "local.jsonl"),
            "--concurrency",
            "64",
            "--no-progress",
            "--json",
            stdout=subprocess.PIPE,
        )
        summary = json.loads(local.communicate()[0])
        logins = _counters(url)["Logins"]
        print(
            json.dumps(
                {
                    "mode": "local",
                    "items": args.items,
                    "latency": args.latency,
                    "concurrency": args.concurrency,
                    "calls_per_second": summary["calls_per_second"],
                    "ok": summary["ok"],
                    "logins": logins,
                }
            )
        )
        # New class names for the second run (the first one created these).
        calls.write_text(calls.read_text().replace('"bench-', '"bench2-'))
        with running_redis(work) as redis:
            workers = [
                _cme(env, "worker", "--redis", redis.url, "--concurrency", str(args.concurrency))
                for _ in range(args.workers)
            ]
            time.sleep(2.0)
            try:
                dist = _cme(
                    env,
                    "batch",
                    str(calls),
                    "--out",
                    str(work / "dist.jsonl"),
                    "--redis",
                    redis.url,
                    "--no-progress",
                    "--json",
                    stdout=subprocess.PIPE,
                )
                summary = json.loads(dist.communicate()[0])
            finally:
                for proc in workers:
                    proc.terminate()
                for proc in workers:
                    proc.wait(60)
        print(
            json.dumps(
                {
                    "mode": f"{args.workers} workers",
                    "items": args.items,
                    "latency": args.latency,
                    "concurrency": args.concurrency,
                    "calls_per_second": summary["calls_per_second"],
                    "ok": summary["ok"],
                    "logins": _counters(url)["Logins"] - logins,
                }
            )
        )
    finally:
        emulator.terminate()
        emulator.wait(30)


if __name__ == "__main__":
    main()
