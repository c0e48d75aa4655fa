"""Catalogue-driven request validation and handler coverage."""

from __future__ import annotations

import pytest

from cme_async._catalogue import catalogue
from cme_async.testing import FakeCme
from cme_async.testing.handlers import dispatch_table

from .conftest import Api

ACTIONS = catalogue().actions


@pytest.mark.skipif(not ACTIONS, reason="the generated catalogue is not present")
def test_every_catalogue_action_has_a_handler() -> None:
    assert set(ACTIONS) <= set(dispatch_table())
    assert len(ACTIONS) >= 32


@pytest.mark.skipif(not ACTIONS, reason="the generated catalogue is not present")
async def test_catalogue_action_without_handler_is_validated_then_invalid_action(
    api: Api, fake: FakeCme, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(fake.app.handlers, "Material/DeleteMaterial")
    missing = await api.call("Material/DeleteMaterial", {})
    assert missing["Code"] == "MissingParameter"
    assert "MaterialId" in missing["EnglishMessage"]
    assert await api.code("Material/DeleteMaterial", {"MaterialId": "1"}) == "InvalidAction"


@pytest.mark.parametrize(
    ("action", "body", "code", "field"),
    [
        (
            "Material/DeleteMaterial",
            {"MaterialId": 5},
            "InvalidParameterValue.MaterialId",
            "MaterialId",
        ),
        (
            "Material/ListMedia",
            {"Platform": "p", "ClassId": 1, "Owner": {"Type": "CAT", "Id": "x"}},
            "InvalidParameterValue",
            "Owner.Type",
        ),
        (
            "Material/ListMedia",
            {"Platform": "p", "ClassId": 1, "Owner": {"Type": "PERSON"}},
            "MissingParameter",
            "Owner.Id",
        ),
        (
            "Material/CreateUploadMaterial",
            {
                "ClassId": 1,
                "MaterialType": "PDF",
                "Name": "n",
                "Owner": {"Type": "PERSON", "Id": "demo_user"},
            },
            "InvalidParameterValue",
            "MaterialType",
        ),
        ("Task/DescribeTasks", {"StatusSet": ["DONE"]}, "InvalidParameterValue", "StatusSet"),
        ("Task/DescribeTasks", {"Limit": 31}, "InvalidParameterValue.Limit", ""),
        ("Project/AddMaterialToProject", {"ProjectId": "p"}, "MissingParameter", "MaterialIds"),
        (
            "Material/DescribeMaterials",
            {"MaterialIds": ["1"], "Sort": {"Order": "Asc"}},
            "MissingParameter",
            "Sort.Field",
        ),
        (
            "Material/SearchMaterial",
            {
                "SearchScopes": [{"Platform": "p", "Owner": {"Type": "PERSON", "Id": "demo_user"}}],
                "DurationRange": {"LowerBound": "1", "UpperBound": 2},
            },
            "InvalidParameterValue",
            "DurationRange.LowerBound",
        ),
    ],
)
async def test_validation_names_the_field(
    api: Api, action: str, body: dict, code: str, field: str
) -> None:
    envelope = await api.call(action, body)
    assert envelope["Code"] == code
    assert field in envelope["EnglishMessage"]
    assert "Data" not in envelope


def test_importing_the_emulator_loads_no_server() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cme_async; assert 'cme_async.testing' not in sys.modules; "
        "import cme_async.testing; "
        "print(sorted(m for m in ('uvicorn', 'pytest') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
