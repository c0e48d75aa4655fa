"""``cme batch`` killed with SIGKILL halfway, then resumed from its results file.

The emulator's request log (every request with its body) proves that no item that is
not replay-safe was sent twice, including those in flight at the kill, and that each
replay-safe item was sent at most once more.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

from cme_async.testing import (
    FakeCme,
)
from tests.emulated import demo_env, spawn_cme

from .conftest import ME

N_ITEMS = 2000


def _items(fake: FakeCme) -> list[dict[str, Any]]:
    ids = fake.material_ids()
    root = fake.root_class_id()
    items = []
    for i in range(N_ITEMS):
        if i % 3 == 0:  # not replay-safe: each class may be created once
            body = {"ParentClassId": root, "Name": f"k-{i}", "Owner": ME}
            items.append({"id": str(i), "action": "Material/CreateClass", "body": body})
        else:
            body = {"MaterialId": ids[i % len(ids)], "Name": f"k-{i}"}
            items.append({"id": str(i), "action": "Material/ModifyMaterial", "body": body})
    return items


async def _batch(url: str, *args: str) -> asyncio.subprocess.Process:
    return await spawn_cme(demo_env(url), "batch", *args)


def _sent(fake: FakeCme) -> Counter[str]:
    return Counter(
        r.body["Name"]
        for r in fake.requests
        if r.action in ("Material/CreateClass", "Material/ModifyMaterial")
    )


async def test_sigkill_halfway_then_resume(tmp_path: Path) -> None:
    fake = FakeCme.seeded(request_log_size=4 * N_ITEMS)
    fake.latency(0.01)  # keeps calls in flight when the kill lands
    calls = tmp_path / "calls.jsonl"
    calls.write_text("".join(json.dumps(item) + "\n" for item in _items(fake)))
    out = tmp_path / "results.jsonl"
    async with fake.serve(host="127.0.0.1", port=0) as url:
        first = await _batch(url, str(calls), "--out", str(out), "--concurrency", "16")
        for _ in range(2400):
            if out.exists() and out.read_bytes().count(b'"ok":') >= N_ITEMS // 2:
                break
            await asyncio.sleep(0.025)
        first.kill()
        await first.wait()
        assert first.returncode == -9
        await asyncio.sleep(0.2)  # requests already on the wire reach the emulator
        before = _sent(fake)
        lines = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
        finished = {x["id"] for x in lines if "ok" in x}
        in_flight = {x["id"] for x in lines if "sending" in x} - finished
        assert N_ITEMS // 2 <= len(finished) < N_ITEMS
        assert in_flight, "the kill landed with creations in flight"

        second = await _batch(url, str(calls), "--out", str(out), "--resume", "--json")
        stdout, stderr = await asyncio.wait_for(second.communicate(), 120)

    assert second.returncode in (0, 7), stderr.decode()
    summary = json.loads(stdout)
    assert summary["skipped"] == len(finished)
    assert summary["failed"] == 0 and summary["invalid"] == 0
    assert summary["unknown"] == len(in_flight)
    assert summary["ok"] + summary["skipped"] + summary["unknown"] == N_ITEMS
    after = _sent(fake)
    for i in range(N_ITEMS):
        name = f"k-{i}"
        if i % 3 == 0:
            assert after[name] <= 1, f"class {name} was sent {after[name]} times"
            if str(i) in in_flight:
                assert after[name] == before[name]  # never resent: outcome unknown
        else:
            assert after[name] - before[name] <= 1, f"{name} sent more than once more"
            if str(i) in finished:
                assert after[name] == before[name]
    # The results file holds exactly one final result per item, write-ahead lines gone.
    final = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(int(x["id"]) for x in final) == list(range(N_ITEMS))
    assert all("ok" in x for x in final)
    assert {x["id"] for x in final if x["outcome"] == "unknown"} == in_flight
