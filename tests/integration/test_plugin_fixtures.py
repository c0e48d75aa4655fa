"""The pytest11 fixtures: here, and from a scratch project that only installs the package."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cme_async
from cme_async.testing import FakeCme

SCRATCH_TEST = """
import pytest

@pytest.mark.asyncio
async def test_uses_fixtures(cme_client, cme_fake):
    before = cme_fake.logins
    joined = await cme_client.team.describe_join_teams()
    assert joined.total_count == 1
    cme_fake.expire_tickets()
    await cme_client.team.describe_join_teams()
    assert cme_fake.logins == before + 2
"""


async def test_fixtures_from_the_entry_point(
    cme_client: cme_async.AsyncCmeClient, cme_fake: FakeCme
) -> None:
    found = await cme_client.material.search_material(
        search_scopes=[
            {
                "Platform": cme_fake.credentials.platform,
                "Owner": {"Type": "PERSON", "Id": "demo_user"},
            }
        ],
        limit=3,
    )
    assert found.total_count == len(cme_fake.material_ids())
    assert cme_fake.logins == 1


def test_fixtures_work_in_a_scratch_project(tmp_path: Path) -> None:
    (tmp_path / "test_scratch.py").write_text(textwrap.dedent(SCRATCH_TEST), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_scratch.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
