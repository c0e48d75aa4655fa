"""`make demo`'s command: the emulator CLI runs the quickstart over TCP and passes its status on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from cme_async.testing import DEMO_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cme_async.testing", "--seed", "--run", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_quickstart_runs_against_the_emulator() -> None:
    result = _run(sys.executable, "examples/quickstart.py")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for expected in (
        "[ 2] Log in",
        "个人",
        "paged through all 40",
        "deleted",
        "after 1 transparent new login",
        "ParameterNotFoundError: code InvalidParameterValue.MaterialId",
        "2 login(s)",
        "command exited with 0",
    ):
        assert expected in out, expected
    assert "Traceback" not in result.stderr
    # No ticket (the emulator's are "tf_" and 40 hex digits), not even a prefix of one,
    # and no secret key, in anything the demo prints.
    printed = result.stdout + result.stderr
    assert not re.search(r"tf_[0-9a-f]{3}", printed), printed
    assert DEMO_SECRET_KEY not in printed


def test_run_passes_the_command_status_and_the_settings() -> None:
    script = "import os, sys; print(os.environ['CME_API_URL']); sys.exit(3)"
    result = _run(sys.executable, "-c", script)
    assert result.returncode == 3
    assert "http://127.0.0.1:" in result.stdout


def test_standalone_server_prints_urls_and_credentials() -> None:
    import signal

    import httpx

    import cme_async

    proc = subprocess.Popen(
        [sys.executable, "-m", "cme_async.testing", "--port", "0", "--seed"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        banner = "".join(lines)
        env = dict(re.findall(r"export (CME_\w+)=(\S+)", banner))
        assert set(env) >= {
            "CME_SECRET_ID",
            "CME_SECRET_KEY",
            "CME_PLATFORM",
            "CME_USER_ID",
            "CME_API_URL",
            "CME_LOGIN_URL",
        }
        signature = cme_async.sign(
            secret_id=env["CME_SECRET_ID"],
            secret_key=env["CME_SECRET_KEY"],
            platform=env["CME_PLATFORM"],
            user_id=env["CME_USER_ID"],
        )
        login = httpx.get(env["CME_LOGIN_URL"], params={"signature": signature}, timeout=10)
        ticket = login.json()["Response"]["Authorization"]
        answer = httpx.post(
            f"{env['CME_API_URL']}/PaaS/Team/DescribeJoinTeams",
            params={"auth": ticket},
            json={},
            timeout=10,
        ).json()
        assert answer["Code"] == "Success" and answer["Data"]["TotalCount"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "CME emulator stopped." in out
