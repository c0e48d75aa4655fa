"""The generated signatures type-check user code: mypy --strict over small usage files.

Good usage passes; a misspelt key in a wire dict, a value outside the documented ones
and a missing required argument each fail, on the line that has them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

GOOD = """
import cme_async
from cme_async.types import Entity, SearchScope, SearchScopeDict


async def use(client: cme_async.AsyncCmeClient) -> None:
    scope: SearchScopeDict = {"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u"}}
    found = await client.material.search_material(
        search_scopes=[scope, SearchScope(platform="p", owner=Entity(type="TEAM", id="t"))],
        material_types=["VIDEO", "AUDIO"],
        sort={"Field": "CreateTime", "Order": cme_async.SortOrder.DESC},
    )
    total: int | None = found.total_count
    names = [m.basic_info.name for m in found.material_info_set if m.basic_info]  # never None
    await client.material.delete_material(material_id="m")
    async for task in client.task.iter_describe_tasks(status_set=["SUCCESS"], max_items=3):
        print(task.task_id, total, names)
"""

BAD = """
import cme_async


async def use(client: cme_async.AsyncCmeClient) -> None:
    await client.material.search_material(
        search_scopes=[{"Platfrom": "p", "Owner": {"Type": "PERSON", "Id": "u"}}]
    )
    await client.material.search_material(search_scopes=[], material_types=["VIDOE"])
    await client.material.delete_material()
"""


def run(tmp_path: Path, source: str) -> tuple[str, int]:
    path = tmp_path / "usage.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    out, err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir=/dev/null", str(path)]
    )
    return out + err, status


def test_good_usage_type_checks(tmp_path: Path) -> None:
    out, status = run(tmp_path, GOOD)
    assert status == 0, out


def test_bad_key_bad_literal_and_missing_argument_fail(tmp_path: Path) -> None:
    out, status = run(tmp_path, BAD)
    assert status == 1, out
    lines = {int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line}
    assert lines == {7, 9, 10}, out  # the leading newline of BAD is line 1
    assert "SearchScopeDict" in out  # the dict with the misspelt key is not one
    assert "'VIDOE'" in out  # the value outside the documented ones
    assert 'Missing named argument "material_id"' in out
