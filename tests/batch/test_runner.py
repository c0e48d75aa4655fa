"""The batch runner against the emulator: exact counts, bad items, resume, stopping."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

import cme_async
from cme_async import batch
from cme_async.testing import DEMO_USER_ID, FakeCme

from .conftest import create_class, delete_unknown, describe, modify, signer


def _mixed_items(fake: FakeCme, n: int) -> list[dict[str, Any]]:
    """3 % deletes of unknown materials, 10 % class creations, 5 % modifies, rest reads."""
    ids = fake.material_ids()
    root = fake.root_class_id()
    items = []
    for i in range(n):
        key = str(i)
        if i % 100 < 3:
            items.append(delete_unknown(key))
        elif i % 100 < 13:
            items.append(create_class(key, root))
        elif i % 100 < 18:
            items.append(modify(key, ids[i % len(ids)]))
        else:
            items.append(describe(key, ids[i % len(ids)]))
    return items


async def test_ten_thousand_items_exact_counts(fake: FakeCme, tmp_path: Path) -> None:
    # In process (fake.transport()) to keep the suite quick: the same runs over TCP are
    # tests/batch/test_kill_resume.py, tests/cli and tests/distributed.
    n = 10_000
    items = _mixed_items(fake, n)
    transient = {"armed": 0}

    def inject(counts: batch.BatchCounts) -> None:
        # 2 % transient faults, spread over the run: one every 40 results until 200.
        if transient["armed"] < n // 50 and counts.done >= transient["armed"] * 40:
            transient["armed"] += 1
            if transient["armed"] % 2:
                fake.fail_next("Material/DescribeMaterials", code="InternalError")
            else:
                fake.fail_next("Material/CreateClass", code="RequestLimitExceeded")

    out = tmp_path / "results.jsonl"
    http = httpx.AsyncClient(transport=fake.transport())
    async with cme_async.AsyncCmeClient(
        signer(), DEMO_USER_ID, http_client=http, max_retries=6, on_retry=batch.count_attempts
    ) as client:
        summary = await batch.run_batch(
            client, items, concurrency=64, checkpoint=out, progress=inject
        )
    await http.aclose()

    assert transient["armed"] == 200
    assert not fake.controls.rules, "every injected fault was hit"
    assert (summary.ok, summary.failed, summary.unknown, summary.invalid) == (9700, 300, 0, 0)
    assert summary.by_code == {"InvalidParameterValue.MaterialId": 300}
    assert summary.all_ok is False and summary.interrupted is False
    # Each item was sent once, plus one replay per injected fault.
    assert fake.calls["Material/DescribeMaterials"] == 8200 + 100
    assert fake.calls["Material/CreateClass"] == 1000 + 100
    assert fake.logins == 1
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == n and len({line["id"] for line in lines}) == n
    assert sum(line["attempts"] - 1 for line in lines) == 200  # one replay per fault
    assert all(line["request_id"] for line in lines if line["ok"])  # for support tickets
    failed = [line for line in lines if not line["ok"]]
    assert all(f["error"]["code"] == "InvalidParameterValue.MaterialId" for f in failed)
    assert all(f["error"]["type"].endswith("Error") for f in failed)  # the SDK class name
    assert all(f["error"]["request_id"] for f in failed)


async def test_bad_items_are_reported_and_the_rest_runs(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    ids = fake.material_ids()
    source = tmp_path / "calls.jsonl"
    lines = [
        json.dumps(describe("a", ids[0])),
        "{not json",
        json.dumps({"action": "Material/DescribeMaterials", "body": {"MaterialIds": [ids[1]]}}),
        json.dumps(describe("a", ids[2])),  # duplicate id
        json.dumps({"id": "b", "action": "Material/Frobnicate", "body": {}}),
        json.dumps({"id": "c", "action": "Material/DeleteMaterial", "body": ["x"]}),
        "",
        json.dumps({"id": "d", "action": "Material/DeleteMaterial", "body": {}}),
        json.dumps(["not", "an", "object"]),
        json.dumps(describe("e", ids[3])),
    ]
    source.write_text("\n".join(lines) + "\n")
    run = batch.run(local_client, batch.read_jsonl(source), progress=False)
    results = [r async for r in run]
    by_where = {r.where: r for r in results if r.outcome == "invalid"}
    codes = {where: r.error.code for where, r in by_where.items() if r.error}
    assert codes == {
        "line 2": "NotJson",
        "line 3": "MissingId",
        "line 4": "DuplicateId",
        "line 5": "UnknownAction",
        "line 6": "BadBody",
        "line 8": "MissingParameter",
        "line 9": "NotObject",
    }
    messages = {where: r.error.message for where, r in by_where.items() if r.error}
    assert "line 8" in messages["line 8"] and "MaterialId" in messages["line 8"]
    assert "cme actions" in messages["line 5"]
    assert {r.id for r in results if r.ok} == {"a", "e"}
    assert run.summary is not None and (run.summary.ok, run.summary.invalid) == (2, 7)
    assert fake.calls["Material/DescribeMaterials"] == 2
    assert fake.calls["Material/DeleteMaterial"] == 0


async def test_resume_skips_done_and_never_resends_unknown(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    root = fake.root_class_id()
    ids = fake.material_ids()
    items = [create_class(str(i), root) for i in range(6)] + [
        describe(str(i), ids[i]) for i in range(6, 10)
    ]
    out = tmp_path / "out.jsonl"
    # A previous run: items 0-2 and 6-7 finished, 3 was in flight (write-ahead only),
    # 4 ended "may have run" (a 502 on a create), 8 failed plainly.
    previous = [
        {"id": "0", "ok": True, "outcome": "ok", "data": {"ClassId": 1}, "attempts": 1},
        {"id": "1", "sending": "Material/CreateClass"},
        {"id": "1", "ok": True, "outcome": "ok", "data": {"ClassId": 2}, "attempts": 1},
        {"id": "2", "ok": True, "outcome": "ok", "data": {"ClassId": 3}, "attempts": 1},
        {"id": "3", "sending": "Material/CreateClass"},
        {"id": "4", "sending": "Material/CreateClass"},
        {
            "id": "4",
            "ok": False,
            "outcome": "unknown",
            "attempts": 1,
            "error": {"type": "CmeHTTPError", "message": "502", "may_have_run": True},
        },
        {"id": "6", "ok": True, "outcome": "ok", "data": {}, "attempts": 1},
        {"id": "7", "ok": True, "outcome": "ok", "data": {}, "attempts": 1},
        {"id": "8", "ok": False, "outcome": "failed", "attempts": 3, "error": {"type": "X"}},
    ]
    out.write_text("".join(json.dumps(p) + "\n" for p in previous) + '{"id": "9", "ok')
    run = batch.run(local_client, items, checkpoint=out, progress=False)
    results = {r.id: r for r in [r async for r in run]}
    # Sent again: 5 (never started), 8 (failed), 9 (its line was cut short).
    assert fake.calls["Material/CreateClass"] == 1
    assert fake.calls["Material/DescribeMaterials"] == 2
    assert set(results) == {"3", "5", "8", "9"}
    assert results["3"].outcome == "unknown"
    assert results["3"].error is not None and results["3"].error.type == "OutcomeUnknown"
    assert run.summary is not None
    assert (run.summary.skipped, run.summary.ok, run.summary.unknown) == (5, 3, 2)
    assert set(run.summary.unknown_ids) == {"3", "4"}
    # Compacted: exactly one final result per item, no write-ahead lines.
    final = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["id"] for line in final) == [str(i) for i in range(10)]
    assert all("ok" in line for line in final)

    # retry_unknown sends 3 and 4 (and nothing else) again.
    again = await batch.run_batch(
        local_client, items, checkpoint=out, progress=False, retry_unknown=True
    )
    assert fake.calls["Material/CreateClass"] == 3
    assert (again.ok, again.skipped, again.unknown) == (2, 8, 0)


async def test_sigterm_stops_taking_items_and_keeps_what_finished(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    ids = fake.material_ids()
    fake.latency(0.02)
    items = (describe(str(i), ids[i % len(ids)]) for i in range(100_000))
    out = tmp_path / "out.jsonl"
    sent = {"signalled": False}

    def progress(counts: batch.BatchCounts) -> None:
        if counts.done >= 50 and not sent["signalled"]:
            sent["signalled"] = True
            os.kill(os.getpid(), signal.SIGTERM)

    run = batch.run(local_client, items, concurrency=8, checkpoint=out, progress=progress)
    results = [r async for r in run]
    assert run.stopped_by == signal.SIGTERM
    assert run.summary is not None and run.summary.interrupted
    assert 50 <= len(results) < 200
    lines = out.read_text().splitlines()
    assert len(lines) == len(results) == fake.calls["Material/DescribeMaterials"]
    # The default handler is back: the runner does not leave its own installed.
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)


async def test_user_id_runs_through_as_user(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient
) -> None:
    items: list[Any] = [
        {"id": "me", "action": "Team/DescribeJoinTeams", "body": {}},
        batch.BatchItem("friend", "Team/DescribeJoinTeams", {}, user_id="demo_friend"),
    ]
    results = {r.id: r async for r in batch.run(local_client, items, progress=False)}
    assert results["me"].ok and results["friend"].ok
    assert results["me"].data != results["friend"].data
    assert fake.logins == 2


def test_bad_arguments_fail_before_anything_runs(local_client: Any) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        batch.run(local_client, [], concurrency=0)


async def test_breaking_out_early_cancels_calls_in_flight(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    ids = fake.material_ids()
    fake.latency(0.05)
    out = tmp_path / "out.jsonl"
    items = (describe(str(i), ids[i % len(ids)]) for i in range(1_000_000))
    async with batch.run(
        local_client, items, concurrency=16, checkpoint=out, progress=False
    ) as run:
        seen: list[batch.BatchResult] = []
        async for result in run:
            seen.append(result)
            if len(seen) == 10:
                break
    assert run.summary is not None and run.summary.interrupted
    # What finished is in the checkpoint; what was in flight was cancelled, not awaited.
    lines = out.read_text().splitlines()
    assert 10 <= len(lines) <= 10 + 16 * 2
    assert fake.calls["Material/DescribeMaterials"] <= len(lines) + 16


async def test_a_failing_progress_callback_loses_no_result(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient
) -> None:
    ids = fake.material_ids()

    def broken(counts: batch.BatchCounts) -> None:
        raise RuntimeError("bug in the callback")

    items = [describe(str(i), ids[i % len(ids)]) for i in range(50)]
    results = [r async for r in batch.run(local_client, items, progress=broken)]
    assert len(results) == 50 and all(r.ok for r in results)
