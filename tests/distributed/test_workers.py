"""The batch over 3 ``cme worker`` processes on a real redis-server, one killed mid-run.

Everything runs as a user would: the emulator over TCP (served by this test's loop, so
its request log can be read), ``cme worker`` and ``cme batch --redis`` as subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cme_async.testing import (
    DEMO_SECRET_KEY,
    DEMO_USER_ID,
    FakeCme,
)
from tests.emulated import demo_env, spawn_cme
from tests.redis_server import running_redis

N_ITEMS = 3000
ME = {"Type": "PERSON", "Id": DEMO_USER_ID}


def _env(url: str) -> dict[str, str]:
    return demo_env(url)


async def _cme(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await spawn_cme(env, *args)


def _items(fake: FakeCme) -> list[dict[str, Any]]:
    ids = fake.material_ids()
    root = fake.root_class_id()
    items = []
    for i in range(N_ITEMS):
        if i % 10 == 0:  # not replay-safe
            body = {"ParentClassId": root, "Name": f"dist-{i}", "Owner": ME}
            items.append({"id": str(i), "action": "Material/CreateClass", "body": body})
        else:
            body = {"MaterialIds": [ids[i % len(ids)]]}
            items.append({"id": str(i), "action": "Material/DescribeMaterials", "body": body})
    return items


async def test_three_workers_one_killed_mid_run(tmp_path: Path) -> None:
    fake = FakeCme.seeded(request_log_size=2 * N_ITEMS)
    fake.latency(0.005)
    calls = tmp_path / "calls.jsonl"
    calls.write_text("".join(json.dumps(item) + "\n" for item in _items(fake)))
    out = tmp_path / "results.jsonl"
    with running_redis(tmp_path) as redis:
        async with fake.serve(host="127.0.0.1", port=0) as url:
            env = _env(url)
            worker_args = (
                "worker",
                "--redis",
                redis.url,
                "--concurrency",
                "16",
                "--deadline",
                "3",
                "--rate",
                "5000",  # one limit shared through Redis (high: not the subject)
            )
            workers = [await _cme(env, *worker_args) for _ in range(3)]
            batch = await _cme(
                env,
                "batch",
                str(calls),
                "--out",
                str(out),
                "--redis",
                redis.url,
                "--deadline",
                "3",
                "--no-progress",
                "--json",
            )
            try:
                # Kill one worker (SIGKILL: no clean-up at all) once a fifth is done.
                for _ in range(1200):
                    if out.exists() and len(out.read_bytes().splitlines()) >= N_ITEMS // 5:
                        break
                    await asyncio.sleep(0.05)
                workers[0].kill()
                stdout, stderr = await asyncio.wait_for(batch.communicate(), 180)
            finally:
                for proc in workers:
                    if proc.returncode is None:
                        proc.send_signal(signal.SIGTERM)
                logs = [(await asyncio.wait_for(p.communicate(), 60))[1] for p in workers]
            assert workers[0].returncode == -signal.SIGKILL
            assert [w.returncode for w in workers[1:]] == [0, 0]
            assert all(b"cme worker: stopped" in log for log in logs[1:])
            assert not any(DEMO_SECRET_KEY.encode() in log for log in logs)

    assert batch.returncode in (0, 7), stderr.decode()
    summary = json.loads(stdout)
    assert summary["failed"] == 0 and summary["invalid"] == 0
    assert summary["ok"] + summary["unknown"] == N_ITEMS
    # One login for three worker processes: the ticket is shared through Redis.
    assert fake.logins == 1
    # The results file holds exactly one result per item.
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(int(r["id"]) for r in results) == list(range(N_ITEMS))
    by_id = {r["id"]: r for r in results}
    unknown = [r for r in results if r["outcome"] == "unknown"]
    assert all(r["action"] == "Material/CreateClass" for r in unknown)
    assert all(by_id[str(i)]["ok"] for i in range(N_ITEMS) if i % 10)
    # No class was asked for twice, killed worker or not (the emulator's request log).
    names = Counter(r.body["Name"] for r in fake.requests_for("Material/CreateClass"))
    assert names and max(names.values()) == 1
    assert fake.calls["Material/CreateClass"] == len(names)
    assert len(names) >= N_ITEMS // 10 - len(unknown)
    # The collector's verdicts match what CME did: every ok create really created.
    created = {str(i) for i in range(0, N_ITEMS, 10) if by_id[str(i)]["ok"]}
    assert {f"dist-{i}" for i in created} <= set(names)


async def test_worker_json_lines_and_missing_redis(tmp_path: Path) -> None:
    env = _env("http://127.0.0.1:9")
    missing = await _cme(env, "worker")
    _, err = await asyncio.wait_for(missing.communicate(), 60)
    assert missing.returncode == 2
    assert err.decode().startswith("cme: --redis is required")
    with running_redis(tmp_path) as redis:
        url = redis.url.replace("redis://", "redis://:hunter2-password@")
        await asyncio.to_thread(_set_password, redis.port, "hunter2-password")
        proc = await _cme(env, "worker", "--redis", url, "--burst", "--json")
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    events = [json.loads(line) for line in out.decode().splitlines()]
    assert [e["event"] for e in events] == ["started", "stopped"]
    assert events[0]["redis"] == f"redis://:***@127.0.0.1:{redis.port}/0"
    assert b"hunter2-password" not in out + err


def _set_password(port: int, password: str) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"CONFIG SET requirepass {password}\r\n".encode())
        assert sock.recv(64).startswith(b"+OK")


@pytest.mark.parametrize("command", ["worker", "batch"])
async def test_an_unreachable_redis_is_reported_at_once(tmp_path: Path, command: str) -> None:
    """arq retries its first connection 5 times over the ~30 s command retries that let
    workers ride out a Redis restart: nobody listening took minutes to be reported. A
    single PING first says so at once (exit 6, the network status)."""
    from tests.redis_server import free_port

    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"  # nothing listens there
    items = tmp_path / "in.jsonl"
    items.write_text('{"id": "1", "action": "Team/DescribeJoinTeams", "body": {}}\n')
    args = ["worker"] if command == "worker" else ["batch", str(items), "--out"]
    if command == "batch":
        args.append(str(tmp_path / "out.jsonl"))
    proc = await _cme(_env("http://127.0.0.1:9"), *args, "--redis", url)
    # Bounded far below arq's own retries (it gave up after about 200 s).
    _, err = await asyncio.wait_for(proc.communicate(), 25)
    assert proc.returncode == 6, err.decode()
    assert "Redis" in err.decode() and b"hunter2-password" not in err
