"""The runner against input and files that try to lose or repeat work.

Each test here reproduces a way the runner once lost an item, sent one twice or
hung: a checkpoint it cannot open, a checkpoint write that fails halfway, two runs on
one checkpoint, an invalid line reusing the id of an item that ran, bytes that are not
UTF-8, a misspelt key, calls cut short when the grace period ends.
"""

from __future__ import annotations

import asyncio
import errno
import json
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

import cme_async
from cme_async import batch
from cme_async.batch import _checkpoint
from cme_async.testing import FakeCme

from .conftest import create_class, describe, signer

# Only a guard against a hang (the bug these tests catch): a working run ends at once.
HANG = 60


async def _collect(run: batch.BatchRun) -> list[batch.BatchResult]:
    async def go() -> list[batch.BatchResult]:
        return [r async for r in run]

    return await asyncio.wait_for(go(), HANG)


async def test_a_checkpoint_that_cannot_be_opened_raises_instead_of_hanging(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    items = [describe("1", fake.material_ids()[0])]
    run = batch.run(local_client, items, checkpoint=tmp_path / "missing" / "out.jsonl")
    with pytest.raises(FileNotFoundError):
        await _collect(run)
    assert fake.calls["Material/DescribeMaterials"] == 0


async def test_a_failed_checkpoint_write_stops_the_run_and_raises(
    fake: FakeCme,
    local_client: cme_async.AsyncCmeClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written = {"n": 0}
    original = _checkpoint.CheckpointWriter.result

    def disk_full_at_the_fifth(self: Any, result: batch.BatchResult) -> None:
        written["n"] += 1
        if written["n"] == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, result)

    monkeypatch.setattr(_checkpoint.CheckpointWriter, "result", disk_full_at_the_fifth)
    ids = fake.material_ids()
    items = [describe(str(i), ids[i % len(ids)]) for i in range(200)]
    out = tmp_path / "out.jsonl"
    run = batch.run(local_client, items, concurrency=2, checkpoint=out, progress=False)
    with pytest.raises(OSError, match="No space left"):
        await _collect(run)
    # It stopped taking items (not 199 "ok" results and a summary that says all is well).
    assert run.summary is not None and run.summary.interrupted
    assert fake.calls["Material/DescribeMaterials"] < 20
    # The results before the failure are there; a call in flight may have added one.
    assert 4 <= len(out.read_text().splitlines()) <= 5


async def test_two_runs_on_one_checkpoint_the_second_is_refused(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    fake.latency(0.05)
    root = fake.root_class_id()
    items = [create_class(str(i), root) for i in range(20)]
    out = tmp_path / "out.jsonl"
    first = batch.run(local_client, items, concurrency=2, checkpoint=out, progress=False)
    iterator = first.__aiter__()
    await asyncio.wait_for(iterator.__anext__(), HANG)  # the first run holds the file
    second = batch.run(local_client, items, concurrency=2, checkpoint=out, progress=False)
    with pytest.raises(batch.CheckpointInUse, match="in use by another batch run"):
        await _collect(second)
    rest = await asyncio.wait_for(_rest(iterator), HANG)
    assert 1 + len(rest) == 20
    assert fake.calls["Material/CreateClass"] == 20  # each class sent once
    # Once the first run has ended, the file is free again.
    again = await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    assert again.skipped == 20 and fake.calls["Material/CreateClass"] == 20


async def _rest(iterator: Any) -> list[batch.BatchResult]:
    return [r async for r in iterator]


async def test_an_invalid_line_reusing_a_done_id_cannot_resend_it(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    root = fake.root_class_id()
    ids = fake.material_ids()
    items: list[Any] = [create_class("x", root)]
    items += [describe(str(i), ids[i]) for i in range(5)]
    items.append({"id": "x", "action": "Material/CreateClass", "body": {"ParentClassId": root}})
    out = tmp_path / "out.jsonl"
    first = batch.run(local_client, items, concurrency=1, checkpoint=out, progress=False)
    results = await _collect(first)
    late = [r for r in results if r.where == "item 7"]
    assert len(late) == 1 and late[0].error is not None
    assert late[0].error.code == "DuplicateId"  # not MissingParameter for the id "x"
    # A resume must not take the bad line for the item's last result.
    await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    assert fake.calls["Material/CreateClass"] == 1
    final = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["outcome"] for line in final if line["id"] == "x" and "where" not in line] == [
        "ok"
    ]


async def test_bytes_that_are_not_utf8_are_refused_not_replaced(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    mid = fake.material_ids()[0]
    line = json.dumps(
        {"id": "x", "action": "Material/ModifyMaterial", "body": {"MaterialId": mid, "Name": "?"}}
    ).encode()
    source = tmp_path / "calls.jsonl"
    source.write_bytes(
        b"\xef\xbb\xbf"  # a byte-order mark (Windows editors) is fine
        + json.dumps(describe("1", mid)).encode()
        + b"\n"
        + line.replace(b'"?"', b'"caf\xe9"')  # Latin-1
        + b"\n"
    )
    results = await _collect(batch.run(local_client, batch.read_jsonl(source), progress=False))
    by_where = {r.where: r for r in results if r.where}
    assert [r.id for r in results if r.ok] == ["1"]
    error = by_where["line 2"].error
    assert error is not None and error.code == "NotUtf8"
    assert "0xe9" in error.message and "UTF-8" in error.message
    assert fake.calls["Material/ModifyMaterial"] == 0  # nothing sent with U+FFFD in it


@pytest.mark.parametrize(
    ("extra", "hint"),
    [({"userid": "alice"}, "'user_id'"), ({"Body": {}}, "'body'"), ({"tags": ["a"]}, "")],
)
async def test_unknown_item_keys_are_refused_with_the_fix(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, extra: dict[str, Any], hint: str
) -> None:
    item = {**describe("1", fake.material_ids()[0]), **extra}
    results = await _collect(batch.run(local_client, [item], progress=False))
    assert len(results) == 1 and results[0].outcome == "invalid"
    error = results[0].error
    assert error is not None and error.code == "UnknownKey"
    assert repr(next(iter(extra))) in error.message and hint in error.message
    assert fake.calls["Material/DescribeMaterials"] == 0


async def test_an_id_of_the_wrong_type_is_named_as_such(
    local_client: cme_async.AsyncCmeClient,
) -> None:
    items = [{"id": True, "action": "Team/DescribeJoinTeams"}, {"id": 1.5, "action": "x/y"}]
    results = await _collect(batch.run(local_client, items, progress=False))
    assert [r.error.code for r in results if r.error] == ["BadId", "BadId"]
    assert all("string or an integer" in r.error.message for r in results if r.error)


async def test_calls_cut_short_by_the_grace_period_say_they_may_have_run(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    root = fake.root_class_id()
    mid = fake.material_ids()[0]
    for action in ("Material/CreateClass", "Material/DescribeMaterials"):
        fake.latency(30, action)  # every call is still in flight when the grace ends
    items = [create_class("c1", root), create_class("c2", root), describe("d1", mid)]
    items += [describe(f"later{i}", mid) for i in range(5)]
    out = tmp_path / "out.jsonl"
    run = batch.run(local_client, items, concurrency=3, checkpoint=out, progress=False, grace=0)

    async def stop_when_all_three_arrived() -> None:
        while sum(fake.calls.values()) < 3:  # the emulator counts a call on arrival
            await asyncio.sleep(0.01)
        run.stop()

    stopper = asyncio.create_task(stop_when_all_three_arrived())
    results = {r.id: r for r in await _collect(run)}
    await stopper
    assert set(results) == {"c1", "c2", "d1"}
    for key in ("c1", "c2"):  # not replay-safe: unknown, not sent again by a resume
        assert results[key].outcome == "unknown"
        assert results[key].error is not None and results[key].error.may_have_run
    assert results["d1"].outcome == "failed"  # replay-safe: a resume sends it again
    assert results["d1"].error is not None and results["d1"].error.may_have_run
    assert run.summary is not None and run.summary.interrupted
    assert (run.summary.unknown, run.summary.failed, run.summary.not_started) == (2, 1, 5)
    for action in ("Material/CreateClass", "Material/DescribeMaterials"):
        fake.latency(0, action)
    again = await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    assert fake.calls["Material/CreateClass"] == 2  # c1 and c2 were not sent again
    assert (again.ok, again.unknown) == (6, 2)


def test_a_huge_line_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    source = tmp_path / "calls.jsonl"
    with source.open("wb") as fh:
        fh.write(b'{"id": "1", "action": "Team/DescribeJoinTeams"}\n')
        fh.write(b'{"id": "2", "action": "Team/DescribeJoinTeams", "body": {"x": "')
        fh.write(b"a" * (32 * 1024 * 1024))  # 32 MiB on one line
        fh.write(b'"}}\n{"id": "3", "action": "Team/DescribeJoinTeams"}\n')
    tracemalloc.start()
    try:
        lines = list(batch.read_jsonl(source, max_line_bytes=1024 * 1024))
        total = batch.count_lines(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # a few chunks, not the 32 MiB line (nor copies of it)
    assert total == 3
    assert [(x.number, x.code if x.error else None) for x in lines] == [
        (1, None),
        (2, "LineTooLong"),
        (3, None),
    ]
    error = lines[1].error
    assert error is not None and "--max-line-mb" in error and "1048576 bytes" in error
    parsed = batch.parse_item(lines[1], "line 2")
    assert isinstance(parsed, batch.BatchResult) and parsed.error is not None
    assert parsed.error.code == "LineTooLong"


@pytest.mark.parametrize(
    ("option", "value"),
    [("deadline", 0), ("deadline", float("nan")), ("max_retries", -1), ("grace", float("nan"))],
)
def test_bad_options_fail_before_any_item(
    local_client: cme_async.AsyncCmeClient, option: str, value: float
) -> None:
    with pytest.raises(ValueError, match=option):
        batch.run(local_client, [], **{option: value})


async def test_results_stay_one_line_for_every_line_reader(
    local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    # JSON leaves U+2028, U+2029 and U+0085 raw; str.splitlines() (and older JavaScript)
    # breaks lines there, so one result would read as two broken ones.
    odd = "a\u2028b\u2029c\x85d"
    items = [{"id": odd, "action": "Team/DescribeJoinTeams"}, {"id": "x", "action": "A/B"}]
    out = tmp_path / "out.jsonl"
    await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert {json.loads(line)["id"] for line in lines} == {odd, "x"}
    again = await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    assert again.skipped == 1  # the id reads back the same on resume


async def test_items_without_a_user_for_a_client_without_one_are_invalid_unsent(
    fake: FakeCme, tmp_path: Path
) -> None:
    http = httpx.AsyncClient(transport=fake.transport())
    items: list[Any] = [
        {"id": "mine", "action": "Team/DescribeJoinTeams"},
        {"id": "alice", "action": "Team/DescribeJoinTeams", "user_id": "demo_friend"},
    ]
    async with cme_async.AsyncCmeClient(signer(), None, http_client=http) as client:
        results = {r.id: r for r in await _collect(batch.run(client, items, progress=False))}
    await http.aclose()
    assert results["alice"].ok
    mine = results["mine"]
    assert mine.outcome == "invalid" and mine.attempts == 0  # was: failed, ValueError
    assert mine.error is not None and mine.error.code == "MissingUserId"
    assert "CME_USER_ID" in mine.error.message and '"user_id"' in mine.error.message
    assert fake.calls["Team/DescribeJoinTeams"] == 1


@pytest.mark.parametrize(
    "content",
    [
        b'{"id": "1", "action": "Team/DescribeJoinTeams"}\n',  # another batch's input
        b"\x89PNG\r\n\x1a\n\x00\x00binary",
        b"name,id\nalice,1\n",
    ],
)
async def test_resuming_onto_a_file_that_is_not_a_checkpoint_leaves_it_alone(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path, content: bytes
) -> None:
    out = tmp_path / "precious.jsonl"
    out.write_bytes(content)
    items = [{"id": "n1", "action": "Team/DescribeJoinTeams"}]
    with pytest.raises(batch.NotACheckpoint, match="line 1"):
        await _collect(batch.run(local_client, items, checkpoint=out, progress=False))
    assert out.read_bytes() == content  # was: compacted down to this run's one result
    assert fake.calls["Team/DescribeJoinTeams"] == 0


async def test_a_line_cut_short_by_a_crash_is_still_resumed(
    local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "1", "ok": true, "outcome": "ok", "attempts": 1}\n{"id": "2", "o')
    items = [{"id": str(i), "action": "Team/DescribeJoinTeams"} for i in (1, 2)]
    summary = await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    assert (summary.skipped, summary.ok) == (1, 1)
    assert sorted(json.loads(x)["id"] for x in out.read_text().splitlines()) == ["1", "2"]


async def test_a_line_edited_into_an_invalid_one_keeps_what_cme_did(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    root = fake.root_class_id()
    good = [create_class("maybe", root), create_class("done", root)]
    broken = [{**item, "body": {"ParentClassId": root}} for item in good]  # Name, Owner gone
    out = tmp_path / "out.jsonl"
    fake.fail_next("Material/CreateClass", http_status=502)  # "maybe" ends unknown
    first = await batch.run_batch(local_client, good, concurrency=1, checkpoint=out)
    assert (first.unknown, first.ok) == (1, 1)
    edited = await batch.run_batch(local_client, broken, checkpoint=out, progress=False)
    assert edited.invalid == 2
    fixed = await batch.run_batch(local_client, good, checkpoint=out, progress=False)
    # The invalid lines of the edited run sent nothing and must not have erased the
    # unknown outcome and the success: neither class is sent a second time.
    assert fake.calls["Material/CreateClass"] == 2
    assert (fixed.unknown, fixed.skipped, fixed.ok) == (1, 1, 0)
    final = {json.loads(x)["id"]: json.loads(x) for x in out.read_text().splitlines()}
    assert final["maybe"]["outcome"] == "unknown" and final["done"]["outcome"] == "ok"


async def test_an_item_refused_unsent_leaves_no_write_ahead_line(
    fake: FakeCme, tmp_path: Path
) -> None:
    http = httpx.AsyncClient(transport=fake.transport())
    out = tmp_path / "out.jsonl"
    items = [create_class("c", fake.root_class_id())]  # no user_id, client without a user
    async with cme_async.AsyncCmeClient(signer(), None, http_client=http) as client:
        await batch.run_batch(client, items, checkpoint=out, progress=False)
        again = await batch.run_batch(client, items, checkpoint=out, progress=False)
    await http.aclose()
    assert "sending" not in out.read_text()
    assert (again.invalid, again.unknown) == (1, 0)  # not "may have run"
    assert fake.calls["Material/CreateClass"] == 0


async def test_a_deeply_nested_line_is_invalid_and_the_batch_goes_on(
    local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    source = tmp_path / "calls.jsonl"
    deep = '{"id": "deep", "action": "Team/DescribeJoinTeams", "body": {"x": '
    deep += "[" * 100_000 + "]" * 100_000 + "}}"
    item = '{"id": "%s", "action": "Team/DescribeJoinTeams"}'
    source.write_text("\n".join([item % "a", deep, item % "b"]) + "\n")
    # It used to raise RecursionError out of the run: 'internal error', b never ran.
    results = await _collect(batch.run(local_client, batch.read_jsonl(source), progress=False))
    assert sorted(r.id for r in results if r.ok) == ["a", "b"]
    bad = [r for r in results if not r.ok]
    assert len(bad) == 1 and bad[0].where == "line 2" and bad[0].error is not None
    assert bad[0].error.code == "NotJson" and "nested too deeply" in bad[0].error.message


async def test_status_lines_go_on_while_every_call_waits_on_a_slow_service(
    fake: FakeCme,
    local_client: cme_async.AsyncCmeClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cme_async.batch import _progress, _runner

    monkeypatch.setattr(_progress, "LINE_INTERVAL", 0.1)
    monkeypatch.setattr(_runner, "HEARTBEAT", 0.02, raising=False)
    fake.latency(2.0, "Team/DescribeJoinTeams")  # no result for 2 s
    await local_client.login()  # the login is not slowed down; keep it out of the wait
    items = [{"id": "slow", "action": "Team/DescribeJoinTeams"}]
    results = await _collect(batch.run(local_client, items, progress=None))
    assert [r.ok for r in results] == [True]
    lines = capsys.readouterr().err.splitlines()
    # Off a terminal: a status line every LINE_INTERVAL, results or not (there used to
    # be none until the first result came back).
    waiting = [line for line in lines if line.startswith("cme batch: 0/1 done")]
    assert len(waiting) >= 2, lines
    assert all("1 in flight" in line for line in waiting)


async def test_compaction_keeps_a_symlinked_checkpoint_and_its_permissions(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    target = tmp_path / "data" / "results.jsonl"
    target.parent.mkdir()
    target.touch(mode=0o644)
    target.chmod(0o644)
    link = tmp_path / "results.jsonl"
    link.symlink_to(target)
    items = [create_class("c", fake.root_class_id())]  # a write-ahead line to compact away
    await batch.run_batch(local_client, items, checkpoint=link, progress=False)
    assert link.is_symlink()  # not replaced by a file of its own, leaving the target stale
    lines = [json.loads(x) for x in target.read_text().splitlines()]
    assert [x["outcome"] for x in lines] == ["ok"]
    assert target.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


async def test_a_batch_item_with_an_int_id_resumes_like_its_jsonl_line(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    body = create_class("x", fake.root_class_id())["body"]
    items = [batch.BatchItem(5, "Material/CreateClass", body)]
    out = tmp_path / "out.jsonl"
    first = await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    again = await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    assert (first.ok, again.skipped) == (1, 1)
    assert fake.calls["Material/CreateClass"] == 1  # the int 5 never matched "5": sent twice
    with pytest.raises(ValueError, match="id must be"):
        batch.BatchItem("", "Team/DescribeJoinTeams")


async def test_a_file_system_without_locks_still_runs_with_a_warning(
    local_client: cme_async.AsyncCmeClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(_checkpoint.fcntl, "flock", no_locks)
    items = [{"id": "1", "action": "Team/DescribeJoinTeams"}]
    out = tmp_path / "out.jsonl"
    summary = await batch.run_batch(local_client, items, checkpoint=out, progress=False)
    assert summary.ok == 1 and len(out.read_text().splitlines()) == 1
    assert "cannot lock" in caplog.text and "No locks available" in caplog.text


async def test_a_lone_surrogate_in_an_id_is_written_escaped_not_fatal(
    fake: FakeCme, local_client: cme_async.AsyncCmeClient, tmp_path: Path
) -> None:
    source = tmp_path / "calls.jsonl"
    # Valid JSON, but "\ud800" is no character UTF-8 can hold: writing its result line
    # raised UnicodeEncodeError, which stopped the whole run ('internal error').
    source.write_text(
        '{"id": "\\ud800x", "action": "Team/DescribeJoinTeams"}\n'
        '{"id": "after", "action": "Team/DescribeJoinTeams"}\n'
    )
    out = tmp_path / "out.jsonl"
    first = await batch.run_batch(
        local_client, batch.read_jsonl(source), checkpoint=out, progress=False
    )
    assert first.ok == 2
    assert "\\ud800x" in out.read_text(encoding="utf-8")
    again = await batch.run_batch(
        local_client, batch.read_jsonl(source), checkpoint=out, progress=False
    )
    assert again.skipped == 2 and fake.calls["Team/DescribeJoinTeams"] == 2
