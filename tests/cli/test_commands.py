"""Every ``cme`` command as a new user would run it: exit codes, --json, one-line errors."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
from pathlib import Path

from tests.emulated import spawn_cme

from .conftest import PLATFORM, SECRET_KEY, USER, Cme


async def test_actions_lists_the_catalogue(cme: Cme) -> None:
    ran = await cme("actions", "--json")
    assert ran.code == 0
    rows = {row["action"]: row for row in ran.json()}
    assert len(rows) >= 32
    assert rows["Material/CreateClass"]["replay_safe"] is False
    assert rows["Material/DescribeMaterials"]["replay_safe"] is True
    assert all(row["description"] for row in rows.values())
    human = await cme("actions", "team")
    assert human.code == 0
    assert [line.split()[0] for line in human.out.splitlines()] == [
        "Team/DescribeTeams",
        "Team/DescribeJoinTeams",
    ]
    missing = await cme("actions", "Nope")
    assert missing.code == 2 and missing.err.startswith("cme: no action class 'Nope'")


async def test_sign_prints_a_login_signature(cme: Cme) -> None:
    ran = await cme("sign", "--user-id", "alice", "--expire", "120", "--json")
    assert ran.code == 0
    out = ran.json()
    original = base64.b64decode(out["signature"])[20:].decode()
    assert "userId=alice" in original and "action=Login" in original
    assert f"platform={PLATFORM}" in original
    plain = await cme("sign")
    assert plain.code == 0 and len(plain.out.strip().splitlines()) == 1


async def test_login_prints_who_without_the_ticket(cme: Cme) -> None:
    ran = await cme("login", "--json")
    assert ran.code == 0, ran.err
    info = ran.json()
    assert info["user_id"] == USER and info["platform"] == PLATFORM
    assert info["app_id"] and info["tf_uid"]
    human = await cme("login")
    assert human.code == 0 and human.out.startswith(f"Login OK for {USER}: AppId")
    assert cme.fake.logins == 2


async def test_call_with_inline_file_and_stdin_data(cme: Cme, tmp_path: Path) -> None:
    ids = cme.fake.material_ids()[:2]
    body = json.dumps({"MaterialIds": ids})
    inline = await cme("call", "Material/DescribeMaterials", "--data", body, "--json")
    assert inline.code == 0, inline.err
    assert [m["BasicInfo"]["MaterialId"] for m in inline.json()["MaterialInfoSet"]] == ids
    path = tmp_path / "body.json"
    path.write_text(body)
    from_file = await cme("call", "Material.DescribeMaterials", "--data", f"@{path}")
    assert from_file.code == 0 and json.loads(from_file.out) == inline.json()
    from_stdin = await cme("call", "Material/DescribeMaterials", "--data", "-", stdin=body)
    assert from_stdin.code == 0 and json.loads(from_stdin.out) == inline.json()
    nothing = await cme(
        "call", "Material/DeleteMaterial", "--data", json.dumps({"MaterialId": ids[0]})
    )
    assert nothing.code == 0 and "OK (no data)" in nothing.out


async def test_generated_typed_subcommands(cme: Cme) -> None:
    ids = cme.fake.material_ids()[:2]
    ran = await cme("material", "describe-materials", "--material-ids", ",".join(ids), "--json")
    assert ran.code == 0, ran.err
    assert len(ran.json()["MaterialInfoSet"]) == 2
    teams = await cme("team", "describe-join-teams", "--limit", "5", "--json")
    assert teams.code == 0 and "TeamSet" in teams.json()
    helped = await cme("material", "describe-materials", "--help")
    assert helped.code == 0 and "--material-ids" in helped.out and "replay-safe" in helped.out
    missing = await cme("material", "delete-material")
    assert missing.code == 2
    assert missing.err.strip() == (
        "cme: Material/DeleteMaterial needs --material-id (cme material delete-material --help)"
    )


async def test_one_line_errors_and_exit_codes(cme: Cme) -> None:
    no_key = await cme("login", env=cme.env(CME_SECRET_KEY=None))
    assert no_key.code == 3
    assert no_key.err.splitlines() == [no_key.err.strip()] and no_key.err.startswith(
        "cme: CME_SECRET_KEY is not set"
    )

    wrong_key = await cme("login", env=cme.env(CME_SECRET_KEY="wrong-key-0123456789abcdef"))
    assert wrong_key.code == 4, wrong_key.err
    assert len(wrong_key.err.strip().splitlines()) == 1
    assert "login refused" in wrong_key.err and "Traceback" not in wrong_key.err
    assert "wrong-key-0123456789abcdef" not in wrong_key.err + wrong_key.out

    unknown = await cme("call", "Material/Frobnicate", "--data", "{}")
    assert unknown.code == 2
    assert unknown.err.strip() == (
        "cme: unknown action 'Material/Frobnicate': `cme actions` lists every action"
    )

    bad_json = await cme("call", "Material/DeleteMaterial", "--data", "{'MaterialId': 1}")
    assert bad_json.code == 2 and bad_json.err.startswith("cme: --data is not valid JSON")

    not_object = await cme("call", "Material/DeleteMaterial", "--data", "[1]")
    assert not_object.code == 2 and "must be a JSON object" in not_object.err

    api = await cme("call", "Material/DeleteMaterial", "--data", '{"MaterialId": "nope"}')
    assert api.code == 5
    line = api.err.strip()
    assert line.startswith(
        "cme: Material/DeleteMaterial: InvalidParameterValue.MaterialId: material not exist"
    )
    assert "(request id " in line and len(api.err.strip().splitlines()) == 1

    usage = await cme("call", "--nope")
    assert usage.code == 2 and usage.err.startswith("cme: No such option: --nope")

    unreachable = await cme(
        "login", env=cme.env(CME_API_URL="http://127.0.0.1:9", CME_LOGIN_URL="http://127.0.0.1:9")
    )
    assert unreachable.code == 6 and len(unreachable.err.strip().splitlines()) == 1


async def test_debug_shows_the_traceback_but_no_secret(cme: Cme) -> None:
    wrong = "debug-wrong-key-0123456789abcdef"
    ran = await cme("--debug", "login", env=cme.env(CME_SECRET_KEY=wrong))
    assert ran.code == 4
    assert "Traceback" in ran.err and "LoginError" in ran.err
    assert wrong not in ran.err + ran.out
    assert "signature=" not in ran.err.replace("signature=***", "")
    ok = await cme("--debug", "call", "Team/DescribeJoinTeams", "--data", "{}")
    assert ok.code == 0 and "cme_async" in ok.err  # request log lines
    assert "auth=***" in ok.err or "auth=" not in ok.err


async def test_profiles_from_a_toml_file(cme: Cme, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[profiles.default]\n"
        'user_id = "nobody"\n'
        "[profiles.emu]\n"
        f'secret_key = "{SECRET_KEY}"\n'
        f'user_id = "{USER}"\n'
    )
    os.chmod(config, 0o600)
    env = cme.env(CME_SECRET_KEY=None, CME_USER_ID=None)
    ran = await cme("--config", str(config), "--profile", "emu", "login", "--json", env=env)
    assert ran.code == 0, ran.err
    assert ran.json()["user_id"] == USER and ran.err == ""
    # Flags beat the profile; the default profile fills in what the environment lacks.
    flagged = await cme(
        "--config", str(config), "--profile", "emu", "login", "--user-id", "alice", env=env
    )
    assert flagged.code == 0 and "alice" in flagged.out
    missing = await cme("--config", str(config), "--profile", "prod", "login", env=env)
    assert missing.code == 3
    assert missing.err.strip() == (
        f"cme: profile 'prod' is not in {config} (profiles there: default, emu)"
    )
    os.chmod(config, 0o644)
    warned = await cme("--config", str(config), "--profile", "emu", "login", env=env)
    assert warned.code == 0 and "chmod 600" in warned.err


async def test_batch_exit_status_results_and_summary(cme: Cme, tmp_path: Path) -> None:
    ids = cme.fake.material_ids()
    calls = tmp_path / "calls.jsonl"
    lines = [
        {"id": str(i), "action": "Material/DescribeMaterials", "body": {"MaterialIds": [ids[i]]}}
        for i in range(20)
    ]
    calls.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "results.jsonl"
    ok = await cme("batch", str(calls), "--out", str(out), "--json")
    assert ok.code == 0, ok.err
    assert ok.json()["ok"] == 20 and "20 items" in ok.err
    assert len(out.read_text().splitlines()) == 20

    again = await cme("batch", str(calls), "--out", str(out))
    assert again.code == 2 and "--resume" in again.err

    resumed = await cme("batch", str(calls), "--out", str(out), "--resume", "--json")
    assert resumed.code == 0 and resumed.json()["skipped"] == 20
    assert cme.fake.calls["Material/DescribeMaterials"] == 20

    with calls.open("a") as fh:
        fh.write('{"id": "x", "action": "Material/DeleteMaterial", "body": {"MaterialId": "no"}}\n')
        fh.write("not json\n")
    failed_out = tmp_path / "failed.jsonl"
    failed = await cme("batch", str(calls), "--out", str(failed_out), "--no-progress", "--json")
    assert failed.code == 7
    summary = failed.json()
    assert (summary["ok"], summary["failed"], summary["invalid"]) == (20, 1, 1)
    assert summary["by_code"] == {"InvalidParameterValue.MaterialId": 1, "NotJson": 1}
    assert len(failed_out.read_text().splitlines()) == 22


async def test_emulator_command_serves_until_interrupted(cme: Cme) -> None:
    proc = await spawn_cme(
        cme.env(),
        "emulator",
        "--port",
        "0",
        "--seed",
        "--json",
    )
    try:
        assert proc.stdout is not None
        first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CME_")}
        env.update(first["env"], CME_CONFIG_FILE=os.devnull + ".absent")
        ran = await cme("login", "--json", env=env)
        assert ran.code == 0 and ran.json()["user_id"] == first["env"]["CME_USER_ID"]
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0
    assert SECRET_KEY not in first["env"].values()


async def test_batch_sigterm_keeps_results_then_resume_finishes(cme: Cme, tmp_path: Path) -> None:
    ids = cme.fake.material_ids()
    cme.fake.latency(0.02)
    calls = tmp_path / "calls.jsonl"
    lines = [
        {"id": str(i), "action": "Material/DescribeMaterials", "body": {"MaterialIds": [ids[0]]}}
        for i in range(400)
    ]
    calls.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "results.jsonl"
    proc = await spawn_cme(
        cme.env(),
        "batch",
        str(calls),
        "--out",
        str(out),
        "--concurrency",
        "4",
        "--no-progress",
    )
    for _ in range(1200):
        if out.exists() and len(out.read_bytes().splitlines()) >= 20:
            break
        await asyncio.sleep(0.025)
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 143, err.decode()
    assert "stopped early" in err.decode()
    done = len(out.read_text().splitlines())
    assert 20 <= done < 400
    assert cme.fake.calls["Material/DescribeMaterials"] == done  # nothing lost in flight

    resumed = await cme("batch", str(calls), "--out", str(out), "--resume", "--json")
    assert resumed.code == 0, resumed.err
    assert resumed.json()["skipped"] == done and resumed.json()["ok"] == 400 - done
    assert sorted(int(json.loads(x)["id"]) for x in out.read_text().splitlines()) == list(
        range(400)
    )
