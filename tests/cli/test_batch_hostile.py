"""``cme batch`` in subprocesses against paths, pipes, names and neighbours that once
made it hang, destroy its input, lie in its exit status or repaint the terminal."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.emulated import spawn_cme

from .conftest import USER, Cme


def _write(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))


def _create(key: str, root: int, name: str) -> dict[str, Any]:
    owner = {"Type": "PERSON", "Id": USER}
    body = {"ParentClassId": root, "Name": name, "Owner": owner}
    return {"id": key, "action": "Material/CreateClass", "body": body}


async def test_bad_out_paths_fail_at_once_and_keep_the_input(cme: Cme, tmp_path: Path) -> None:
    ids = cme.fake.material_ids()
    calls = tmp_path / "calls.jsonl"
    _write(
        calls,
        [{"id": "1", "action": "Material/DescribeMaterials", "body": {"MaterialIds": ids[:1]}}],
    )
    original = calls.read_bytes()

    missing = await cme("batch", str(calls), "--out", str(tmp_path / "nope" / "r.jsonl"))
    assert missing.code == 2, missing.err  # it used to wait forever here
    assert missing.err.strip() == (
        f"cme: --out {tmp_path / 'nope' / 'r.jsonl'}: directory {tmp_path / 'nope'} does not "
        "exist (create it first)"
    )

    directory = await cme("batch", str(calls), "--out", str(tmp_path), "--resume")
    assert directory.code == 2 and "is a directory" in directory.err

    itself = await cme("batch", str(calls), "--out", str(calls), "--resume")
    assert itself.code == 2 and "is the input file itself" in itself.err
    assert calls.read_bytes() == original  # it used to be replaced by the results

    stdin = await cme("batch", "-", "--out", str(tmp_path / "r.jsonl"), stdin=original.decode())
    assert stdin.code == 2 and "not stdin" in stdin.err
    fifo = tmp_path / "items.fifo"  # what `cme batch <(generate) ...` passes
    os.mkfifo(fifo)
    piped = await cme("batch", str(fifo), "--out", str(tmp_path / "r.jsonl"))
    assert piped.code == 2 and "not a regular file" in piped.err

    other = tmp_path / "other-batch.jsonl"  # another batch's input, given as --out by mistake
    other.write_bytes(original)
    foreign = await cme("batch", str(calls), "--out", str(other), "--resume")
    assert foreign.code == 2 and "is not a batch results file" in foreign.err
    assert other.read_bytes() == original  # it used to be compacted to this run's results
    assert cme.fake.calls["Material/DescribeMaterials"] == 0


async def test_a_second_batch_on_the_same_out_is_refused(cme: Cme, tmp_path: Path) -> None:
    root = cme.fake.root_class_id()
    cme.fake.latency(0.05, "Material/CreateClass")
    calls = tmp_path / "calls.jsonl"
    _write(calls, [_create(str(i), root, f"twice-{i}") for i in range(40)])
    out = tmp_path / "results.jsonl"
    first = await spawn_cme(
        cme.env(),
        "batch",
        str(calls),
        "--out",
        str(out),
        "--concurrency",
        "2",
        "--no-progress",
    )
    for _ in range(2400):  # the first run is under way once its first line is written
        if out.exists() and out.stat().st_size > 0:
            break
        await asyncio.sleep(0.025)
    second = await cme("batch", str(calls), "--out", str(out), "--resume")
    _, first_err = await asyncio.wait_for(first.communicate(), 120)
    assert first.returncode == 0, first_err.decode()
    assert second.code == 2
    assert second.err.startswith(f"cme: --out {out} is in use by another batch run")
    assert cme.fake.calls["Material/CreateClass"] == 40  # not 40 + what the second sent


async def test_summary_on_a_closed_stdout_keeps_the_batch_status(cme: Cme, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    _write(calls, [{"id": "x", "action": "Material/DeleteMaterial", "body": {"MaterialId": "no"}}])
    read_end, write_end = os.pipe()
    os.close(read_end)  # `cme batch ... --json | head -c0`: nobody reads the summary
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cme_async.cli",
            "batch",
            str(calls),
            "--out",
            str(tmp_path / "r.jsonl"),
            "--json",
            env=cme.env(),
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 7, err.decode()  # an item failed: not 0 (nor 1)
    assert "Traceback" not in err.decode()


async def test_ids_cannot_write_escape_sequences_to_the_terminal(cme: Cme, tmp_path: Path) -> None:
    root = cme.fake.root_class_id()
    cme.fake.fail_next("Material/CreateClass", http_status=502)  # outcome unknown: id listed
    evil = "\x1b[2J\x1b[31mred\nFAKE: 0 failed\x07"
    calls = tmp_path / "calls.jsonl"
    _write(calls, [_create(evil, root, "evil"), {"id": "\x1b]0;title\x07", "action": "A/B"}])
    ran = await cme("batch", str(calls), "--out", str(tmp_path / "r.jsonl"), "--no-progress")
    assert ran.code == 7
    assert "\x1b" not in ran.err and "\x07" not in ran.err
    assert "\\x1b[2J\\x1b[31mred\\nFAKE: 0 failed\\x07" in ran.err
    assert "\nFAKE" not in ran.err  # no line of the summary is forged

    error = await cme(
        "batch", str(tmp_path / "\x1b[2Jmissing.jsonl"), "--out", str(tmp_path / "r2.jsonl")
    )
    assert error.code == 2 and "\x1b" not in error.err and "\\x1b[2J" in error.err


async def test_bad_numbers_are_usage_errors_before_anything_is_sent(
    cme: Cme, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.jsonl"
    _write(calls, [{"id": str(i), "action": "Team/DescribeJoinTeams"} for i in range(5)])
    out = tmp_path / "r.jsonl"
    for flag, value, wanted in [
        ("--deadline", "0", "--deadline must be a positive number"),
        ("--deadline", "nan", "--deadline must be a positive number"),
        ("--max-retries", "-1", "--max-retries must be 0 or more"),
        ("--grace", "-1", "--grace must be 0 or more"),
        ("--grace", "nan", "--grace must be 0 or more"),
    ]:
        ran = await cme("batch", str(calls), "--out", str(out), flag, value)
        # It used to fail every item (a results file of 5 ValueErrors, exit 7) or call
        # itself an internal error (exit 1).
        assert ran.code == 2, (flag, value, ran.err)
        assert ran.err.startswith(f"cme: {wanted}"), ran.err
        assert not out.exists()
    for args in (("--timeout", "0"), ("--deadline", "-1"), ("--max-retries", "-2")):
        ran = await cme("call", "Team/DescribeJoinTeams", "--data", "{}", *args)
        assert ran.code == 2 and "internal error" not in ran.err, ran.err
    assert sum(cme.fake.calls.values()) == 0


async def test_a_closed_stderr_keeps_the_batch_status(cme: Cme, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    _write(calls, [{"id": "x", "action": "Material/DeleteMaterial", "body": {"MaterialId": "no"}}])
    for n, flags in enumerate(([], ["--json"])):
        read_end, write_end = os.pipe()
        os.close(read_end)  # `cme batch ... 2>&1 | head -c0`: progress and summary unread
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cme_async.cli",
                "batch",
                str(calls),
                "--out",
                str(tmp_path / f"r{n}.jsonl"),
                *flags,
                env=cme.env(),
                stdout=write_end,
                stderr=write_end,
            )
        finally:
            os.close(write_end)
        assert await asyncio.wait_for(proc.wait(), 60) == 7


async def test_data_files_that_are_not_utf8_or_too_deep_are_usage_errors(
    cme: Cme, tmp_path: Path
) -> None:
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"Name": "caf\xe9"}')
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    bom = tmp_path / "bom.json"
    bom.write_bytes(b'\xef\xbb\xbf{"Limit": 1}')
    for path, wanted in ((latin1, "is not UTF-8 (byte 0xe9"), (deep, "nested too deeply")):
        ran = await cme("call", "Team/DescribeJoinTeams", "--data", f"@{path}")
        assert ran.code == 2 and wanted in ran.err, ran.err  # was: internal error, exit 1
    owner = "[" * 100_000  # a typed command's JSON option, same hazard
    typed = await cme(
        "material", "create-class", "--parent-class-id", "1", "--name", "x", "--owner", owner
    )
    assert typed.code == 2 and "--owner is nested too deeply" in typed.err, typed.err
    ok = await cme("call", "Team/DescribeJoinTeams", "--data", f"@{bom}", "--json")
    assert ok.code == 0 and "TeamSet" in ok.json()
    assert cme.fake.calls["Team/DescribeJoinTeams"] == 1


async def test_a_lone_surrogate_id_in_the_summary_is_escaped(cme: Cme, tmp_path: Path) -> None:
    root = cme.fake.root_class_id()
    cme.fake.fail_next("Material/CreateClass", http_status=502)  # unknown: id in the summary
    calls = tmp_path / "calls.jsonl"
    item = json.dumps(_create("\ud800c", root, "surrogate"))  # json.dumps writes "\ud800c"
    calls.write_text(item + "\n")
    ran = await cme("batch", str(calls), "--out", str(tmp_path / "r.jsonl"), "--json")
    assert ran.code == 7, ran.err  # was: 1, UnicodeEncodeError printing the summary
    assert ran.json()["unknown_ids"] == ["\ud800c"]
    assert "\\ud800c" in ran.err
