"""Golden diffs: one change in a copy of ``specs/`` changes exactly the expected places.

Each case edits one concern (a wire name, a description, a page size, an alias, an
error code's meaning) and checks which generated files change and that every changed
line is about that concern, so a reader can trust that a field lives in one place per
concern: its model class (annotation, docstring, ``_wire`` table), the method that
takes it, the catalogue data and the reference page.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from codegen.__main__ import DOC, GENERATED, ROOT, generate

SPECS = ROOT / "specs"
JSON = f"{GENERATED}/catalogue.json"


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return generate(SPECS)


def changed(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    """Per file, the changed lines ('-old' / '+new'), without context."""
    out: dict[str, list[str]] = {}
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel, "").splitlines(), after.get(rel, "").splitlines()
        lines = [
            line
            for line in difflib.unified_diff(old, new, lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        if lines:
            out[rel] = lines
    return out


def regenerate(tmp_path: Path, file: str, edit: Callable[[str], str]) -> dict[str, str]:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    text = (specs / file).read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text, "the edit did not apply"
    (specs / file).write_text(edited, encoding="utf-8")
    return generate(specs)


def test_a_wire_name(fresh: dict[str, str], tmp_path: Path) -> None:
    """``MaterialBasicInfo.PreviewUrl`` spelled ``PreviewURL`` (attribute kept)."""
    after = regenerate(
        tmp_path,
        "types.yaml",
        lambda t: t.replace(
            "  - wire: PreviewUrl\n    type: string\n",
            "  - wire: PreviewURL\n    attr: preview_url\n    type: string\n",
            1,
        ),
    )
    diff = changed(fresh, after)
    assert set(diff) == {f"{GENERATED}/structs.py", JSON, DOC}
    # The model: its docstring line and its _wire table, nothing else.
    structs = diff[f"{GENERATED}/structs.py"]
    assert all("PreviewU" in line for line in structs), structs
    assert any('"preview_url": "PreviewURL"' in line for line in structs)
    assert any("Wire ``PreviewURL``" in line for line in structs)
    assert diff[JSON] == ['-     "wire": "PreviewUrl"', '+     "wire": "PreviewURL"']
    assert all("PreviewU" in line for line in diff[DOC])


def test_a_request_field_description(fresh: dict[str, str], tmp_path: Path) -> None:
    """A request argument's description: the method, the request class, the data, the page."""
    old = "description: Delete a task by its ID."
    after = regenerate(
        tmp_path, "task.yaml", lambda t: t.replace(old, "description: Remove a task.")
    )
    diff = changed(fresh, after)
    assert set(diff) == {
        f"{GENERATED}/namespaces.py",
        f"{GENERATED}/task.py",
        JSON,
        DOC,
    }
    for rel, lines in diff.items():
        assert len(lines) == 2, (rel, lines)  # one line out, one line in
        assert "Remove a task." in lines[1], (rel, lines)


def test_a_page_size(fresh: dict[str, str], tmp_path: Path) -> None:
    """Paging lives in the page spec the paginator names, and in the data."""
    after = regenerate(
        tmp_path,
        "task.yaml",
        lambda t: t.replace(
            "    total: TotalCount\n    max_page_size: 30\n",
            "    total: TotalCount\n    max_page_size: 25\n",
            1,
        ),
    )
    diff = changed(fresh, after)
    assert set(diff) == {f"{GENERATED}/namespaces.py", JSON}
    assert diff[f"{GENERATED}/namespaces.py"] == [
        "-    max_page_size=30,",
        "+    max_page_size=25,",
    ]
    spec = after[f"{GENERATED}/namespaces.py"].split("_DESCRIBE_TASKS_PAGES = _p.Pages(")[1]
    assert "max_page_size=25," in spec.split("\n)")[0]
    assert diff[JSON] == ['-   "max_page_size": 30,', '+   "max_page_size": 25,']


def test_an_alias(fresh: dict[str, str], tmp_path: Path) -> None:
    """A second spelling: the model's docstring and _wire table, the data, the page."""
    after = regenerate(
        tmp_path,
        "types.yaml",
        lambda t: t.replace(
            "  - wire: CoverUrl\n    type: string\n",
            "  - wire: CoverUrl\n    aliases: [CoverURL]\n    type: string\n",
            1,
        ),
    )
    diff = changed(fresh, after)
    assert set(diff) == {f"{GENERATED}/structs.py", JSON, DOC}
    structs = diff[f"{GENERATED}/structs.py"]
    assert '+        aliases={"cover_url": ("CoverURL",)},' in structs, structs
    assert any("also read from 'CoverURL'" in line for line in structs), structs
    assert "CoverURL" in "".join(diff[JSON])


def test_an_error_meaning(fresh: dict[str, str], tmp_path: Path) -> None:
    """An error code's meaning is data only: no Python changes."""
    after = regenerate(
        tmp_path,
        "errors.yaml",
        lambda t: t.replace("  meaning: MFA error.\n", "  meaning: MFA check failed.\n", 1),
    )
    diff = changed(fresh, after)
    assert set(diff) == {JSON}
    assert diff[JSON] == ['-   "meaning": "MFA error."', '+   "meaning": "MFA check failed."']
