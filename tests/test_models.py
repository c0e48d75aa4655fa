"""Models leave the process: ``to_dict`` / ``to_json`` / ``from_dict`` on every model.

Round trips use every documented example (requests and answers), and every nested
model found inside them, so each model class the examples reach is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from actions_support import REFERENCE, normalize, spec_of

from cme_async._converter import Model, structure_hook
from cme_async._generated import models


def examples() -> Iterator[Any]:
    for action in REFERENCE["actions"]:
        spec = spec_of(action)
        for n, example in enumerate(action["examples"]):
            name = action["action_name"]
            yield pytest.param(
                getattr(models, f"{name}Request"),
                normalize(example["request"], spec.request),
                id=f"{name}Request-{n}",
            )
            data = example["response"].get("Data")
            if spec.has_data and isinstance(data, dict):
                if name == "DescribeMaterials" and "MaterialInfoSet" not in data:
                    data = {"MaterialInfoSet": [data]}  # the documented flat example
                yield pytest.param(
                    getattr(models, f"{name}Response"),
                    normalize(data, spec.response),
                    id=f"{name}Response-{n}",
                )


def nested(obj: Any) -> Iterator[Model]:
    """``obj`` and every model inside it."""
    if isinstance(obj, Model):
        yield obj
        for a in attrs.fields(type(obj)):
            yield from nested(getattr(obj, a.name))
    elif isinstance(obj, list):
        for x in obj:
            yield from nested(x)


@pytest.mark.parametrize(("cls", "wire"), list(examples()))
def test_round_trip_of_every_documented_example(cls: type[Model], wire: dict[str, Any]) -> None:
    model = cls.from_dict(wire)
    assert model.to_dict() == wire
    seen = 0
    for m in nested(model):
        again = type(m).from_dict(m.to_dict())
        assert again == m, type(m).__name__
        assert type(m).from_dict(json.loads(m.to_json())) == m
        seen += 1
    assert seen >= 1


def test_every_model_class_is_reached_by_some_example() -> None:
    reached = {
        type(m).__name__
        for p in examples()
        for m in nested(p.values[0].from_dict(p.values[1]))  # type: ignore[attr-defined]
    }
    requests_and_responses = {n for n in models.__all__ if n.endswith(("Request", "Response"))}
    # Every request/response class the catalogue has an example for is covered.
    assert {n for n in requests_and_responses if n in reached} >= {
        f"{a['action_name']}Request" for a in REFERENCE["actions"]
    }
    assert {"MaterialInfo", "MaterialBasicInfo", "Entity", "ProjectInfo", "TaskInfo"} <= reached


def test_to_dict_omits_none_and_keeps_unknown_fields() -> None:
    scope = models.SearchScope(
        platform="p", owner=models.Entity(type="PERSON", id="u"), unknown_fields={"New": 1}
    )
    assert scope.to_dict() == {"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u"}, "New": 1}
    assert json.loads(scope.to_json()) == scope.to_dict()
    assert models.SearchScope.from_dict(scope.to_dict()) == scope


def test_from_dict_accepts_any_mapping_and_the_documented_spellings() -> None:
    from types import MappingProxyType

    info = models.MaterialInfo.from_dict(MappingProxyType({"BasicInfo": {"Name": "n"}}))
    assert info.basic_info == models.MaterialBasicInfo(name="n")
    assert info.to_dict() == {"MaterialBasicInfo": {"Name": "n"}}


def test_objects_of_one_class_in_different_shapes() -> None:
    """One function per key layout: layouts that differ must not leak into each other."""
    hook = structure_hook(models.Entity)
    a = hook({"Type": "PERSON", "Id": "1"})
    b = hook({"Id": "2", "Type": "TEAM"})
    c = hook({"Id": "3", "Extra": [1]})
    d = hook({"Type": "PERSON", "Id": "1"})
    assert (a.type, a.id, a.unknown_fields) == ("PERSON", "1", {})
    assert (b.type, b.id, b.unknown_fields) == ("TEAM", "2", {})
    assert (c.type, c.id, c.unknown_fields) == (None, "3", {"Extra": [1]})
    assert d == a and d is not a
    assert d.unknown_fields is not a.unknown_fields


def test_a_request_missing_a_required_field_structures_to_none() -> None:
    req = models.DeleteMaterialRequest.from_dict({})
    assert req.material_id is None
    with pytest.raises(TypeError, match=r"material_id is required \(DeleteMaterialRequest"):
        req.to_dict()


def test_the_documented_flat_item_is_read_as_a_one_item_list() -> None:
    answer = models.DescribeMaterialsResponse.from_dict({"BasicInfo": {"MaterialId": "m"}})
    assert answer.material_info_set is not None
    assert answer.material_info_set[0].basic_info == models.MaterialBasicInfo(material_id="m")


def test_a_typed_call_never_reads_the_catalogue_data() -> None:
    code = """
import asyncio, httpx, respx, cme_async
from cme_async import _catalogue

async def main():
    async def signer(user_id):
        return "sig"
    signer.platform = "p"
    with respx.mock() as router:
        router.get(url__startswith="https://open.cme.qcloud.com").respond(
            json={"Response": {"Authorization": "tf_x", "RequestId": "r"}}
        )
        router.post(url__startswith="https://web-paas-api.cme.qcloud.com").respond(
            json={"Code": "Success", "Data": {"TotalCount": 0}}
        )
        async with cme_async.AsyncCmeClient(signer, "u") as client:
            await client.material.search_material(search_scopes=[])
            await client.material.delete_material(material_id="m")
            [x async for x in client.task.iter_describe_tasks()]

asyncio.run(main())
print(_catalogue._CATALOGUE is None)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_shapes_with_as_many_keys_do_not_mix() -> None:
    """Objects with the same number of keys but different keys (and unknown ones)."""
    hook = structure_hook(models.ClassInfo)
    layouts = [
        {"Name": "a", "ClassId": 1},
        {"Name": "b", "ClassPath": "/b"},
        {"Name": "c", "Zz": 3},
        {"ClassId": 4, "Platform": "p"},
    ]
    for _ in range(40):  # past the point where a size with mixed layouts stops being tried
        for wire in layouts:
            obj = hook(wire)
            assert obj.to_dict() == wire
    assert hook({"Name": "c", "Zz": 3}).unknown_fields == {"Zz": 3}
    assert hook({"Name": "b", "ClassPath": "/b"}).class_id is None


def test_lists_every_answer_carries_are_never_none() -> None:
    empty = models.SearchMaterialResponse.from_dict({"TotalCount": 0})
    assert empty.material_info_set == []
    assert (
        models.SearchMaterialResponse.from_dict({"MaterialInfoSet": None}).material_info_set == []
    )
    assert empty.to_dict() == {"TotalCount": 0, "MaterialInfoSet": []}
    assert models.DescribeProjectMaterialsResponse.from_dict({}).material_id_set == []
    # Lists an answer may leave out stay Optional.
    assert models.DescribeClassResponse.from_dict({}).path_info_set is None


def test_always_present_lists_are_in_every_documented_answer() -> None:
    from cme_async._catalogue import catalogue

    marked = {
        (a.key, f.wire)
        for a in catalogue().actions.values()
        for f in a.response
        if f.always_present
    }
    assert ("Material/SearchMaterial", "MaterialInfoSet") in marked
    assert ("Task/DescribeTasks", "TaskInfoSet") in marked
    for action in REFERENCE["actions"]:
        key = f"{action['action_class']}/{action['action_name']}"
        for example in action["examples"]:
            data = example["response"].get("Data")
            if example["response"]["Code"] == "Success":
                for k, wire in marked:
                    if k == key:
                        assert wire in data, (key, wire)
