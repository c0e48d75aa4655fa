"""The YAML catalogue: complete against the reference, and validated when loaded."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from actions_support import REFERENCE

from cme_async._catalogue import action_spec, catalogue
from codegen.__main__ import main as codegen_main
from codegen.loader import load
from codegen.schema import CatalogueError

SPECS = Path(__file__).resolve().parent.parent / "specs"
ACTIONS = catalogue().actions
STRUCTS = catalogue().structs
ERROR_CODES = catalogue().error_codes


def test_all_32_actions_by_class() -> None:
    counts: dict[str, int] = {}
    for spec in ACTIONS.values():
        counts[spec.action_class] = counts.get(spec.action_class, 0) + 1
    assert counts == {"Material": 21, "Team": 2, "Project": 7, "Task": 2}
    documented = {f"{a['action_class']}/{a['action_name']}" for a in REFERENCE["actions"]}
    assert set(ACTIONS) == documented
    assert action_spec("Material", "DeleteMaterial") is ACTIONS["Material/DeleteMaterial"]


@pytest.mark.parametrize("action", REFERENCE["actions"], ids=lambda a: a["action_name"])
def test_every_documented_field_is_catalogued(action: dict[str, Any]) -> None:
    spec = ACTIONS[f"{action['action_class']}/{action['action_name']}"]
    request = {f.wire: f for f in spec.request}
    for doc in action["request_fields"]:
        assert doc["name"] in request
        if doc["required"] and not request[doc["name"]].required:
            # Documented as required but omitted by the documented examples: recorded.
            assert request[doc["name"]].notes, doc["name"]
    assert {f["name"] for f in action["response_fields"]} == {f.wire for f in spec.response}
    assert spec.has_data == bool(action["response_fields"])


def test_every_documented_structure_is_catalogued() -> None:
    for struct in REFERENCE["structures"]:
        if struct.get("kind") == "enum":
            continue
        spec = STRUCTS[struct["name"]]
        assert {f["name"] for f in struct["fields"]} <= {f.wire for f in spec.fields}
    for undefined in REFERENCE["undefined_referenced_types"]:
        name = "SortBy" if undefined["name"] == "Sort" else undefined["name"]
        assert name in STRUCTS
        seen = undefined["observed_in_examples"]
        if isinstance(seen, list):
            assert set(seen) <= {f.wire for f in STRUCTS[name].fields}


def test_replay_safety_and_paging() -> None:
    safe = {"Describe", "Search", "List", "Modify", "Delete"}
    for spec in ACTIONS.values():
        verb = next(
            v
            for v in (*safe, "Create", "Add", "Process", "Finish")
            if spec.action_name.startswith(v)
        )
        assert spec.replay_safe == (verb in safe), spec.key
    offset = {k for k, s in ACTIONS.items() if s.paging == "offset"}
    window = {k for k, s in ACTIONS.items() if s.paging == "time_window"}
    assert offset == {
        "Material/ListMedia",
        "Material/SearchMaterial",
        "Material/SearchSharedMaterial",
        "Team/DescribeJoinTeams",
        "Project/DescribeProjects",
        "Project/SearchProject",
        "Task/DescribeTasks",
    }
    assert window == {
        "Material/DescribeMaterialFrameTag",
        "Material/DescribeMaterialSubtitle",
        "Material/DescribeTextInMaterial",
    }
    assert ACTIONS["Material/ListMedia"].total_field == "MaterialTotalCount"
    assert (
        ACTIONS["Material/DescribeMaterialSubtitle"].cursor_field == "SubtitleInfo.LastTimeOffset"
    )


def test_error_codes() -> None:
    for code in (
        "OperationDenied.PermissionDeny",
        "InvalidParameterValue.UploadContext",
        "InvalidParameterValue.Limit",
        "ResourceNotFound",
        "InternalError",
    ):
        assert code in ERROR_CODES
    assert ERROR_CODES["AuthFailure.SessionInvalid"].relogin_helps
    assert ERROR_CODES["RequestLimitExceeded"].retry_helps
    assert not ERROR_CODES["InvalidParameterValue"].retry_helps
    for spec in ACTIONS.values():
        assert set(spec.errors) <= set(ERROR_CODES)


def test_documented_limits_are_recorded() -> None:
    search = {f.wire: f for f in ACTIONS["Material/SearchMaterial"].request}
    assert search["SearchScopes"].max_items == 5
    assert search["Text"].max_length == 15
    assert search["Limit"].default == 50
    assert {f.wire: f for f in ACTIONS["Material/ListMedia"].request}["Limit"].maximum == 30
    tags = {f.wire: f for f in ACTIONS["Material/ModifyMaterial"].request}["Tags"]
    assert (tags.max_items, tags.item_max_length) == (30, 15)


# ---- validation: each kind of bad YAML stops codegen with file, owner and field -----


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    target = tmp_path / "specs"
    shutil.copytree(SPECS, target)
    return target


def edit(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def action(data: Any, name: str) -> dict[str, Any]:
    return next(a for a in data["actions"] if a["name"] == name)


def field(fields: list[dict[str, Any]], wire: str) -> dict[str, Any]:
    return next(f for f in fields if f["wire"] == wire)


def test_the_real_catalogue_loads(specs: Path) -> None:
    cat = load(specs)
    assert len(cat.actions) == 32


BAD: list[tuple[str, str, Callable[[Any], None], list[str]]] = [
    (
        "unknown key",
        "material.yaml",
        lambda d: field(action(d, "SearchMaterial")["request"], "Text").update(max_lenght=15),
        ["material.yaml", "action SearchMaterial", "field Text", "unknown key 'max_lenght'"],
    ),
    (
        "unknown action key",
        "team.yaml",
        lambda d: action(d, "DescribeTeams").update(replay=True),
        ["team.yaml", "action DescribeTeams", "unknown key 'replay'"],
    ),
    (
        "unknown type name",
        "project.yaml",
        lambda d: field(action(d, "ModifyProject")["request"], "SwitcherInfo").update(
            type="SwitcherInfo"
        ),
        [
            "project.yaml",
            "action ModifyProject",
            "field SwitcherInfo",
            "unknown type name 'SwitcherInfo'",
        ],
    ),
    (
        "bad type expression",
        "task.yaml",
        lambda d: field(action(d, "DeleteTask")["request"], "TaskId").update(type="str ing"),
        ["task.yaml", "action DeleteTask", "field TaskId", "unknown type name"],
    ),
    (
        "duplicate action",
        "task.yaml",
        lambda d: d["actions"].append(dict(action(d, "DeleteTask"))),
        ["task.yaml", "action DeleteTask", "duplicate action"],
    ),
    (
        "missing action attribute",
        "task.yaml",
        lambda d: action(d, "DeleteTask").pop("replay_safe"),
        ["task.yaml", "action DeleteTask", "missing required key 'replay_safe'"],
    ),
    (
        "missing field attribute",
        "material.yaml",
        lambda d: field(action(d, "DeleteMaterial")["request"], "MaterialId").pop("type"),
        [
            "material.yaml",
            "action DeleteMaterial",
            "field MaterialId",
            "missing required key 'type'",
        ],
    ),
    (
        "unknown error code",
        "team.yaml",
        lambda d: action(d, "DescribeTeams")["errors"].append("NoSuch.Code"),
        ["team.yaml", "action DescribeTeams", "unknown error code 'NoSuch.Code'"],
    ),
    (
        "replay safety against the verb",
        "material.yaml",
        lambda d: action(d, "CreateClass").update(replay_safe=True),
        ["material.yaml", "action CreateClass", "replay_safe must be false"],
    ),
    (
        "offset paging without Offset",
        "task.yaml",
        lambda d: action(d, "DescribeTasks").update(
            request=[f for f in action(d, "DescribeTasks")["request"] if f["wire"] != "Offset"]
        ),
        ["task.yaml", "action DescribeTasks", "field paging", "needs Offset and Limit"],
    ),
    (
        "unknown enum",
        "types.yaml",
        lambda d: field(
            next(s for s in d["structs"] if s["name"] == "ImageMaterial")["fields"], "Resolution"
        ).update(enum="Resolutions"),
        ["types.yaml", "struct ImageMaterial", "field Resolution", "unknown enum 'Resolutions'"],
    ),
    (
        "duplicate wire name",
        "types.yaml",
        lambda d: next(s for s in d["structs"] if s["name"] == "Entity")["fields"].append(
            {"wire": "Id", "type": "string", "description": "again"}
        ),
        ["types.yaml", "struct Entity", "field Id", "duplicate wire name"],
    ),
    (
        "union with a structure",
        "types.yaml",
        lambda d: field(
            next(s for s in d["structs"] if s["name"] == "ClassInfo")["fields"], "Owner"
        ).update(type="Entity|string"),
        ["types.yaml", "struct ClassInfo", "field Owner", "union"],
    ),
    (
        "unknown error family",
        "errors.yaml",
        lambda d: d["codes"][0].update(family="weather"),
        ["errors.yaml", "unknown family 'weather'"],
    ),
]


@pytest.mark.parametrize(("kind", "file", "change", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_catalogue(
    specs: Path, kind: str, file: str, change: Callable[[Any], None], words: list[str]
) -> None:
    edit(specs / file, change)
    with pytest.raises(CatalogueError) as info:
        load(specs)
    for word in words:
        assert word in str(info.value), (kind, str(info.value))


def test_invalid_yaml_and_file_name(specs: Path) -> None:
    (specs / "team.yaml").write_text("action_class: Team\nactions: [\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"team\.yaml: not valid YAML"):
        load(specs)
    shutil.copy(SPECS / "team.yaml", specs / "team.yaml")
    shutil.move(specs / "team.yaml", specs / "teams.yaml")
    with pytest.raises(CatalogueError, match=r"teams\.yaml: action_class 'Team' does not match"):
        load(specs)


def test_codegen_cli_reports_catalogue_errors(
    specs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(specs / "task.yaml", lambda d: action(d, "DeleteTask").pop("description"))
    assert codegen_main(["--specs", str(specs), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "task.yaml: action DeleteTask: missing required key 'description'" in err
    assert not (tmp_path / "out").exists()


def test_not_found_and_uncurable_auth_codes_are_decided_in_the_catalogue() -> None:
    from cme_async._generated._errors import NO_RELOGIN_AUTH_CODES, NOT_FOUND_CODES

    # Every documented error example that says "does not exist" is a not-found code.
    for action in REFERENCE["actions"]:
        for example in action["examples"]:
            answer = example["response"]
            english = answer.get("EnglishMessage", "")
            if "not exist" in english or "not found" in english:
                assert answer["Code"] in NOT_FOUND_CODES, (action["action_name"], answer)
    assert {
        c for c, spec in ERROR_CODES.items() if spec.not_found and spec.family != "not_found"
    } == {
        f"InvalidParameterValue.{name}"
        for name in (
            "ClassNotExist",
            "DataNotFoundInDB",
            "DstClassPathNotExist",
            "ExternalMediaInfoNotExist",
            "MaterialId",
            "MemberNotExist",
            "ProjectId",
            "TeamNotExist",
            "VideoEditTemplateIdNotExist",
            "VodFileNotExist",
        )
    }
    assert {c for c, spec in ERROR_CODES.items() if spec.not_found} == NOT_FOUND_CODES
    assert "InvalidParameterValue.Limit" not in NOT_FOUND_CODES
    assert {
        "AuthFailure.UnauthorizedOperation",
        "AuthFailure.MFAFailure",
        "AuthFailure.InvalidSecretId",
    } <= NO_RELOGIN_AUTH_CODES
    assert "AuthFailure.SignatureExpire" not in NO_RELOGIN_AUTH_CODES
    assert all(ERROR_CODES[c].family == "auth" for c in NO_RELOGIN_AUTH_CODES)


def test_limits_the_examples_contradict_are_recorded_not_checked() -> None:
    """Where a documented example breaks a documented limit, the example wins."""
    unchecked = {(a.key, f.wire): f for a in ACTIONS.values() for f in a.request if f.unchecked}
    assert set(unchecked) == {("Team/DescribeJoinTeams", "Limit")}
    limit = unchecked[("Team/DescribeJoinTeams", "Limit")]
    assert limit.maximum == 30  # still documented (the emulator enforces it, as CME does)
    examples = next(a for a in REFERENCE["actions"] if a["action_name"] == "DescribeJoinTeams")
    assert any(e["request"].get("Limit", 0) > 30 for e in examples["examples"])
