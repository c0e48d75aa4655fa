"""`make demo`'s command: the emulator CLI runs the quickstart over TCP and passes its status on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
        "InvalidParameterError: code InvalidParameterValue.MaterialId",
        "2 login(s)",
        "command exited with 0",
    ):
        assert expected in out, expected
    assert "Traceback" not in result.stderr


def test_run_passes_the_command_status_and_the_settings() -> None:
    script = "import os, sys; print(os.environ['CME_API_URL']); sys.exit(3)"
    result = _run(sys.executable, "-c", script)
    assert result.returncode == 3
    assert "http://127.0.0.1:" in result.stdout
