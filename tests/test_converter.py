"""The shared converter: every generated class round-trips through its wire shape.

Samples are built from the catalogue (every field set, plus an unknown field at
every level), so a new structure in ``specs/`` is covered without a new test.
"""

from __future__ import annotations

import copy
import json
import math
import time
from typing import Any

import attrs
import pytest
from actions_support import REFERENCE

from cme_async._catalogue import FieldSpec, catalogue
from cme_async._converter import converter
from cme_async._generated import enums, models

ACTIONS = catalogue().actions
STRUCTS = catalogue().structs

SCALAR_SAMPLES = {"string": "text", "integer": 7, "float": 1.5, "boolean": True, "any": {"k": [1]}}


def class_fields() -> dict[str, tuple[FieldSpec, ...]]:
    out = {name: spec.fields for name, spec in STRUCTS.items()}
    for spec in ACTIONS.values():
        out[f"{spec.action_name}Request"] = spec.request
        if spec.has_data:
            out[f"{spec.action_name}Response"] = spec.response
    return out


CLASSES = class_fields()


def sample_value(type_expr: str, depth: int, alternative: int = 0) -> Any:
    options = type_expr.split("|")
    type_expr = options[min(alternative, len(options) - 1)]
    if type_expr.startswith("list["):
        return [sample_value(type_expr[5:-1], depth)]
    if type_expr in SCALAR_SAMPLES:
        return copy.deepcopy(SCALAR_SAMPLES[type_expr])
    return sample(STRUCTS[type_expr].fields, depth + 1)


def sample(fields: tuple[FieldSpec, ...], depth: int = 0, alternative: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if depth > 2 and f.type.split("|")[0].removeprefix("list[").rstrip("]") in STRUCTS:
            continue  # MaterialInfo -> LinkMaterial -> MaterialInfo ...: stop the recursion
        out[f.wire] = sample_value(f.type, depth, alternative)
    out["ZzFutureField"] = {"Nested": [1, 2]}
    return out


def test_every_catalogue_class_is_generated() -> None:
    dicts = {n for n in models.__all__ if n.endswith("Dict")}  # wire-shaped TypedDicts
    assert set(CLASSES) | set(enums.__all__) | dicts == set(models.__all__)
    assert {n.removesuffix("Dict") for n in dicts} <= set(STRUCTS)
    for name, fields in CLASSES.items():
        cls = getattr(models, name)
        assert attrs.has(cls) and "__slots__" in cls.__dict__
        assert [a.name for a in attrs.fields(cls)][-1] == "unknown_fields"
        assert {a.name for a in attrs.fields(cls)} == {f.attr for f in fields} | {"unknown_fields"}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_round_trip(name: str) -> None:
    cls = getattr(models, name)
    fields = CLASSES[name]
    for alternative in (0, 1):  # both sides of every documented union (MediaUrl, ClassId ...)
        wire = sample(fields, alternative=alternative)
        obj = converter.structure(wire, cls)
        assert isinstance(obj, cls)
        assert obj.unknown_fields == {"ZzFutureField": {"Nested": [1, 2]}}
        for f in fields:
            assert getattr(obj, f.attr) is not None, f.wire
        assert converter.unstructure(obj) == wire
        # Deep copies compare equal; the unknown field is part of equality.
        assert converter.structure(json.loads(json.dumps(wire)), cls) == obj


def alias_fields() -> list[tuple[str, FieldSpec]]:
    return [(n, f) for n, fields in sorted(CLASSES.items()) for f in fields if f.aliases]


def test_documented_contradictions_have_aliases() -> None:
    pairs = {(n, f.wire, a) for n, f in alias_fields() for a in f.aliases}
    assert ("MaterialInfo", "MaterialBasicInfo", "BasicInfo") in pairs
    assert ("MediaMetaData", "VideoStreamSet", "VideoStreamInfoSet") in pairs
    assert ("MediaMetaData", "AudioStreamSet", "AudioStreamInfoSet") in pairs
    assert ("FaceItem", "Id", "Id ") in pairs
    unions = {(n, f.wire): f.type for n, fields in CLASSES.items() for f in fields}
    assert unions[("MaterialBasicInfo", "MediaUrl")] == "string|list[string]"
    assert unions[("SearchScope", "ClassId")] == "string|integer"


@pytest.mark.parametrize(("name", "field"), alias_fields(), ids=lambda x: getattr(x, "wire", x))
def test_both_spellings_parse_the_same(name: str, field: FieldSpec) -> None:
    cls = getattr(models, name)
    wire = sample(CLASSES[name])
    primary = converter.structure(wire, cls)
    for alias in field.aliases:
        other = dict(wire)
        other[alias] = other.pop(field.wire)
        parsed = converter.structure(other, cls)
        assert parsed == primary
        # Sent back with the documented structure-page spelling.
        assert converter.unstructure(parsed) == wire


def test_material_info_from_a_list_example() -> None:
    search = next(a for a in REFERENCE["actions"] if a["action_name"] == "SearchMaterial")
    item = search["examples"][0]["response"]["Data"]["MaterialInfoSet"][0]
    info = converter.structure(item, models.MaterialInfo)
    assert info.basic_info is not None
    assert info.basic_info.name == "脱口秀"
    assert info.basic_info.tag_set == ["综艺", "脱口秀"]
    assert isinstance(info.basic_info.media_url, str)
    assert info.material_status == models.MaterialStatus(transcode_status="NORMAL")


def test_unknown_enum_values_are_kept() -> None:
    entity = converter.structure({"Type": "COOPERATION_SPACE", "Id": "c1"}, models.Entity)
    assert entity.type == "COOPERATION_SPACE"
    assert converter.unstructure(entity) == {"Type": "COOPERATION_SPACE", "Id": "c1"}


def test_enum_members_are_wire_strings() -> None:
    entity = models.Entity(type=enums.EntityType.TEAM, id="t")
    assert json.dumps(converter.unstructure(entity)) == '{"Type": "TEAM", "Id": "t"}'
    assert enums.Resolution.V_2K == "2K"
    parsed = converter.structure({"Status": "SUCCESS"}, models.TaskInfo)
    assert parsed.status == enums.TaskStatus.SUCCESS
    assert set(enums.MaterialType) >= {"VIDEO", "AUDIO", "IMAGE", "VIDEO_EDIT_TEMPLATE"}


def test_none_fields_are_not_sent() -> None:
    scope = models.SearchScope(platform="p", owner=models.Entity(type="PERSON", id="u"))
    assert converter.unstructure(scope) == {"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u"}}


def test_unknown_fields_are_sent_back_but_not_over_known_ones() -> None:
    entity = models.Entity(type="TEAM", id="t", unknown_fields={"Role": "Admin", "Id": "ignored"})
    assert converter.unstructure(entity) == {"Type": "TEAM", "Id": "t", "Role": "Admin"}


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ({"Type": "PERSON"}, TypeError, "id is required (Entity.Id)"),
        ({"Type": 1, "Id": "x"}, TypeError, "type: expected str, got int"),
        ({"type": "PERSON", "id": "x", "nmae": "y"}, ValueError, "unknown field 'nmae'"),
        ("PERSON", TypeError, "expected Entity or a mapping, got str"),
    ],
)
def test_unstructure_checks(value: Any, error: type[Exception], words: str) -> None:
    scope = {"Platform": "p", "Owner": value}
    with pytest.raises(error) as info:
        converter.unstructure(models.SearchScope(platform="p", owner=value))
    assert words in str(info.value)
    with pytest.raises(error):
        models.SearchMaterialRequest(search_scopes=[scope])  # constructing is free ...
        converter.unstructure(
            models.SearchMaterialRequest(search_scopes=[scope])
        )  # ... sending is checked


def test_non_finite_float_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        converter.unstructure(
            models.AddMaterialFrameTagRequest(
                material_id="m",
                start_time_offset=math.nan,
                end_time_offset=1.0,
                tags=["a"],
                version="manual",
            )
        )


def test_int_is_accepted_for_float_and_pascal_case_extras_pass_through() -> None:
    wire = converter.unstructure(
        models.DescribeMaterialSubtitleRequest(
            material_id="m",
            start_time_offset=0,
            end_time_offset=100.5,
        )
    )
    assert wire == {"MaterialId": "m", "StartTimeOffset": 0, "EndTimeOffset": 100.5}
    scope = converter.unstructure(
        models.SearchMaterialRequest(
            search_scopes=[
                {"platform": "p", "owner": {"type": "PERSON", "id": "u"}, "NewFilter": 1}
            ]
        )
    )
    assert scope["SearchScopes"][0]["NewFilter"] == 1


def test_structure_rejects_a_non_object() -> None:
    with pytest.raises(TypeError, match="MaterialInfo: expected a JSON object, got list"):
        converter.structure({"MaterialInfoSet": [[1]]}, models.SearchMaterialResponse)


def test_structure_speed_against_json_loads() -> None:
    """Issue target: a 50-item SearchMaterial answer structures in <= 3x ``json.loads``."""
    search = next(a for a in REFERENCE["actions"] if a["action_name"] == "SearchMaterial")
    item = search["examples"][0]["response"]["Data"]["MaterialInfoSet"][0]
    items = []
    for i in range(50):
        it = copy.deepcopy(item)
        it["BasicInfo"]["MaterialId"] = str(i)
        it["MediaInfo"] = {"Width": 1920, "Height": 1080, "Size": i, "Duration": 1.5}
        items.append(it)
    body = json.dumps({"Code": "Success", "Data": {"TotalCount": 50, "MaterialInfoSet": items}})
    data = json.loads(body)["Data"]

    def best(fn: Any, n: int = 200) -> float:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times.append(time.perf_counter() - start)
        return min(times)

    loads = best(lambda: json.loads(body))
    structure = best(lambda: converter.structure(data, models.SearchMaterialResponse))
    assert structure <= 3 * loads, f"structure {structure:.4f}s vs json.loads {loads:.4f}s"


def test_parse_pauses_the_collector_only_while_it_structures() -> None:
    import gc

    from cme_async import MalformedResponseError, _converter
    from cme_async._generated.material import DescribeClassResponse

    assert gc.isenabled()
    _converter.parse(DescribeClassResponse, {"ClassInfoSet": []}, "Material/DescribeClass")
    assert gc.isenabled()  # enabled again afterwards
    with pytest.raises(MalformedResponseError):
        _converter.parse(DescribeClassResponse, {"ClassInfoSet": 7}, "Material/DescribeClass")
    assert gc.isenabled()  # and after a failure
    gc.disable()
    try:
        _converter.parse(DescribeClassResponse, {}, "Material/DescribeClass")
        assert not gc.isenabled()  # a caller's own choice is left alone
    finally:
        gc.enable()
