"""Hostile-review check: every answer the emulator gives is the documented shape.

Each of the 32 actions is called once, successfully, against the seeded emulator, and
its ``Data`` is walked with the catalogue's response fields: every key is a documented
wire name (or a documented alias), every value has the documented type.  An emulator
that answered extra or mistyped fields would let a test pass that the real service
fails (or the other way round)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import pytest

from cme_async._catalogue import INTEGER_MAX, INTEGER_MIN, FieldSpec, StructSpec, catalogue
from cme_async.testing import DEMO_TEAM_ID, DEMO_USER_ID, FakeCme

from .conftest import Api, Clock

ME = {"Type": "PERSON", "Id": DEMO_USER_ID}


def _fits(type_expr: str, value: Any, path: str, structs: Mapping[str, StructSpec]) -> list[str]:
    t = type_expr.replace(" ", "")
    if t.startswith("list[") and t.endswith("]"):
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {type(value).__name__}"]
        return [p for n, x in enumerate(value) for p in _fits(t[5:-1], x, f"{path}[{n}]", structs)]
    options = t.split("|")
    if len(options) > 1:
        fits = [o for o in options if not _fits(o, value, path, structs)]
        return [] if fits else [f"{path}: {value!r} is none of {type_expr}"]
    if t == "string":
        ok = isinstance(value, str)
    elif t == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and INTEGER_MIN <= value <= INTEGER_MAX
    elif t == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif t == "boolean":
        ok = isinstance(value, bool)
    elif t == "any":
        ok = True
    else:
        if not isinstance(value, Mapping):
            return [f"{path}: expected an object ({t}), got {type(value).__name__}"]
        return _walk(structs[t].fields, value, path, structs)
    return [] if ok else [f"{path}: expected {t}, got {value!r}"]


def _walk(
    fields: Sequence[FieldSpec], data: Mapping[str, Any], path: str, structs: Any
) -> list[str]:
    by_wire = {w: f for f in fields for w in (f.wire, *f.aliases)}
    problems = [f"{path}.{k}: not a documented field" for k in data if k not in by_wire]
    for key, value in data.items():
        f = by_wire.get(key)
        if f is not None and value is not None:
            problems += _fits(f.type, value, f"{path}.{key}", structs)
            if f.enum and isinstance(value, str) and value not in f.enum:
                problems.append(f"{path}.{key}: {value!r} is not a documented value")
    return problems


@pytest.fixture
async def world() -> Any:
    clock = Clock()
    fake = FakeCme.seeded(clock=clock, task_duration=1.0)
    answers: dict[str, list[Any]] = {}
    for key, handler in list(fake.app.handlers.items()):

        def recording(ctx: Any, body: Any, _h: Any = handler, _k: str = key) -> Any:
            data = _h(ctx, body)
            answers.setdefault(_k, []).append(data)
            return data

        fake.app.handlers[key] = recording
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        api = Api(http, fake)
        await api.login()
        yield api, fake, clock, answers


async def test_every_action_answers_its_documented_shape(world: Any) -> None:
    api, fake, clock, answers = world
    platform = fake.credentials.platform
    root = fake.root_class_id()
    mine = fake.material_ids()
    video = next(m for m in mine if fake.state.materials[m].material_type == "VIDEO")
    project = next(p for p in fake.state.projects.values() if p.owner == ("PERSON", DEMO_USER_ID))
    scopes = [{"Platform": platform, "Owner": ME}]
    friend = next(s.authorizer for s in fake.state.shares)

    async def ok(action: str, body: dict[str, Any]) -> Any:
        envelope = await api.call(action, body)
        assert envelope["Code"] == "Success", (action, envelope)
        return envelope.get("Data")

    await ok("Material/DescribeClass", {"Platform": platform, "Owner": ME})
    cid = (await ok("Material/CreateClass", {"ParentClassId": root, "Name": "新", "Owner": ME}))[
        "ClassId"
    ]
    await ok("Material/ModifyClass", {"ClassId": cid, "Owner": ME, "Name": "新2"})
    await ok("Material/ListMedia", {"Platform": platform, "ClassId": root, "Owner": ME})
    await ok("Material/SearchMaterial", {"SearchScopes": scopes, "Limit": 30})
    await ok(
        "Material/SearchSharedMaterial",
        {"Authorizer": {"Type": friend[0], "Id": friend[1]}, "Authorizee": ME},
    )
    await ok("Material/DescribeMaterials", {"MaterialIds": mine[:20]})
    await ok("Material/ModifyMaterial", {"MaterialId": mine[1], "Tags": ["a"], "Name": "n"})
    upload = await ok(
        "Material/CreateUploadMaterial",
        {"ClassId": root, "MaterialType": "VIDEO", "Name": "up", "Owner": ME},
    )
    await ok(
        "Material/FinishUploadMaterial",
        {"UploadContext": upload["UploadContext"], "VodFileId": "5285890000000000001"},
    )
    task = await ok("Material/ProcessMaterial", {"MaterialId": video, "Definition": 20})
    clock.now += 3600
    span = {"MaterialId": video, "StartTimeOffset": 0, "EndTimeOffset": 100000}
    item = (
        await ok(
            "Material/AddMaterialFrameTag",
            {**span, "EndTimeOffset": 5, "Tags": ["t"], "Version": "manual"},
        )
    )["ItemId"]
    frames = await ok("Material/DescribeMaterialFrameTag", {**span, "OnlyManual": False})
    version = frames["FrameTagInfo"]["Version"]
    await ok(
        "Material/ModifyMaterialFrameTag",
        {"MaterialId": video, "ItemId": item, "Tags": ["u"], "Version": version},
    )
    await ok("Material/DescribeMaterialSubtitle", span)
    await ok("Material/DescribeTextInMaterial", span)
    await ok("Material/DescribeFaceInMaterial", {"MaterialId": video})
    await ok("Material/DescribeObjectInMaterial", {"MaterialId": video})
    await ok(
        "Material/DeleteMaterialFrameTag",
        {"MaterialId": video, "ItemId": item, "Version": version},
    )
    await ok("Team/DescribeTeams", {"TeamIds": [DEMO_TEAM_ID]})
    await ok("Team/DescribeJoinTeams", {})
    pid = project.project_id
    await ok("Project/AddMaterialToProject", {"ProjectId": pid, "MaterialIds": [mine[2]]})
    await ok("Project/DescribeProjectMaterials", {"ProjectId": pid})
    await ok("Project/DeleteMaterialFromProject", {"ProjectId": pid, "MaterialIds": [mine[2]]})
    await ok("Project/ModifyProject", {"ProjectId": pid, "Name": "改"})
    await ok("Project/DescribeProjects", {"ProjectIds": [pid]})
    await ok("Project/SearchProject", {"Name": "改"})
    await ok("Task/DescribeTasks", {"TaskIds": [task["TaskId"]]})
    await ok("Task/DeleteTask", {"TaskId": task["TaskId"]})
    await ok("Project/DeleteProject", {"ProjectId": pid})
    await ok("Material/DeleteMaterial", {"MaterialId": mine[3]})
    await ok("Material/DeleteClass", {"ClassId": cid})

    cat = catalogue()
    assert set(answers) == set(cat.actions)  # all 32, each at least once
    problems: list[str] = []
    for key, datas in answers.items():
        spec = cat.actions[key]
        for data in datas:
            if not spec.response:  # documented without Data
                if data is not None:
                    problems.append(f"{key}: documented without Data, answered {data!r}"[:200])
            else:
                problems += [f"{key}: {p}" for p in _walk(spec.response, data, "Data", cat.structs)]
    assert problems == []
    assert fake.internal_errors == []


def test_the_shape_walk_sees_extra_and_mistyped_fields() -> None:
    cat = catalogue()
    search = cat.actions["Material/SearchMaterial"].response or ()
    bad = {"TotalCount": "1", "MaterialInfoSet": [{"BasicInfo": {"MaterialId": 5}}], "New": 1}
    assert _walk(search, bad, "Data", cat.structs) == [
        "Data.New: not a documented field",
        "Data.TotalCount: expected integer, got '1'",
        "Data.MaterialInfoSet[0].BasicInfo.MaterialId: expected string, got 5",
    ]
