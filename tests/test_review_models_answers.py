"""Hostile-review regressions: answers CME may send (types the catalogue does not
promise, fields missing inside structures) must survive the model round trip, and a
shape that cannot be read must be named by its field."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from cme_async import MalformedResponseError
from cme_async._converter import parse
from cme_async._generated import models

ODD_ANSWERS: list[tuple[type[Any], dict[str, Any]]] = [
    # a number sent as a string, an id sent as a number
    (
        models.SearchMaterialResponse,
        {"TotalCount": "3", "MaterialInfoSet": [{"BasicInfo": {"MaterialId": 5, "Name": "名"}}]},
    ),
    # a structure missing the fields a request must carry (Entity.Type / Entity.Id)
    (
        models.DescribeClassResponse,
        {"ClassInfoSet": [{"Owner": {"Type": "PERSON"}, "ClassId": "12", "Extra": [1]}]},
    ),
    # a value of another kind entirely where a list of strings belongs
    (
        models.DescribeMaterialsResponse,
        {"MaterialInfoSet": [{"BasicInfo": {"MaterialId": "m", "TagSet": {"a": 1}}}]},
    ),
]


@pytest.mark.parametrize(("cls", "data"), ODD_ANSWERS)
def test_an_answer_the_sdk_accepted_serialises_back_unchanged(
    cls: type[Any], data: dict[str, Any]
) -> None:
    model = parse(cls, data, "X/Y")
    wire = model.to_dict()  # a web endpoint returning result.to_dict() must not fail
    assert cls.from_dict(wire) == model
    assert json.loads(model.to_json()) == wire
    assert pickle.loads(pickle.dumps(model)) == model


def test_answer_to_dict_keeps_the_odd_values_as_sent() -> None:
    model = parse(*ODD_ANSWERS[1], "Material/DescribeClass")
    assert model.to_dict()["ClassInfoSet"] == [
        {"Owner": {"Type": "PERSON"}, "ClassId": "12", "Extra": [1]}
    ]


def test_a_request_to_dict_still_checks_what_would_be_sent() -> None:
    with pytest.raises(TypeError, match="material_id: expected str, got int"):
        models.DeleteMaterialRequest(material_id=5).to_dict()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"MaterialInfoSet": {"BasicInfo": {}}}, "Data.MaterialInfoSet: expected a JSON array"),
        ({"MaterialInfoSet": "abc"}, "Data.MaterialInfoSet: expected a JSON array, got str"),
        ({"MaterialInfoSet": {}}, "Data.MaterialInfoSet: expected a JSON array, got dict"),
        ({"MaterialInfoSet": [{}, {"BasicInfo": [1]}]}, "Data.MaterialInfoSet[1].BasicInfo"),
        (
            {"MaterialInfoSet": [{"BasicInfo": {"Owner": "u"}}]},
            "Owner: Entity: expected a JSON object, got str",
        ),
        ([1, 2], "Data: SearchMaterialResponse: expected a JSON object, got list"),
    ],
)
def test_a_shape_that_cannot_be_read_names_its_field(data: Any, where: str) -> None:
    with pytest.raises(MalformedResponseError) as info:
        parse(models.SearchMaterialResponse, data, "Material/SearchMaterial", "req-1")
    assert where in str(info.value)
    assert info.value.request_id == "req-1"  # what to quote to Tencent support


def test_signatures_never_show_in_a_models_repr() -> None:
    """VerifySign (an Upload signature) and VodUploadSign are credentials, masked
    everywhere else (logs, the emulator's request log); a model's repr showed them."""
    request = models.CreateUploadMaterialRequest(
        class_id=1,
        material_type="VIDEO",
        name="n",
        owner={"Type": "PERSON", "Id": "u"},
        verify_sign="SIG-SECRET-1",
    )
    answer = parse(
        models.CreateUploadMaterialResponse,
        {"UploadContext": "ctx", "VodUploadSign": "VOD-SECRET-2"},
        "Material/CreateUploadMaterial",
    )
    for model, secret in ((request, "SIG-SECRET-1"), (answer, "VOD-SECRET-2")):
        assert secret not in repr(model) and secret not in str(model)
        assert secret not in repr([model]) and "***" in repr(model)
        assert secret in model.to_json()  # the wire form still carries it
    assert "verify_sign=None" in repr(attrs_evolve(request, verify_sign=None))


def attrs_evolve(model: Any, **changes: Any) -> Any:
    import attrs

    return attrs.evolve(model, **changes)


def test_both_spellings_of_a_field_are_both_kept() -> None:
    """An answer carrying BasicInfo and MaterialBasicInfo used the second and dropped
    the first without a trace."""
    data = {
        "MaterialInfoSet": [
            {"BasicInfo": {"MaterialId": "a"}, "MaterialBasicInfo": {"MaterialId": "b"}}
        ]
    }
    model = parse(models.SearchMaterialResponse, data, "Material/SearchMaterial")
    [item] = model.material_info_set
    assert item.basic_info is not None and item.basic_info.material_id == "b"
    assert item.unknown_fields == {"BasicInfo": {"MaterialId": "a"}}
    assert model.to_dict() == data
    assert models.SearchMaterialResponse.from_dict(model.to_dict()) == model


def test_deeply_nested_values_of_a_plain_list_are_written_back_as_they_are() -> None:
    deep: Any = []
    for _ in range(800):
        deep = [deep]
    data = {"MaterialInfoSet": [{"BasicInfo": {"MaterialId": "m", "TagSet": deep}}]}
    model = parse(models.SearchMaterialResponse, data, "Material/SearchMaterial")
    assert model.to_dict()["MaterialInfoSet"][0]["MaterialBasicInfo"]["TagSet"] is deep


@pytest.mark.parametrize("data", [None, "abc", [("Type", "PERSON")], 5])
def test_from_dict_of_something_that_is_not_a_mapping_says_so(data: Any) -> None:
    with pytest.raises(TypeError, match=r"Entity\.from_dict: expected a mapping"):
        models.Entity.from_dict(data)


def test_to_json_keeps_unicode_and_takes_json_dumps_options() -> None:
    entity = models.Entity(type="PERSON", id="用户 😀 \u2028")
    assert "用户 😀" in entity.to_json()
    assert models.Entity.from_dict(json.loads(entity.to_json())) == entity
    ascii_only = entity.to_json(ensure_ascii=True, sort_keys=True)  # was a TypeError
    assert ascii_only.isascii() and json.loads(ascii_only) == entity.to_dict()


def test_many_key_layouts_compile_a_bounded_number_of_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Items whose keys vary (a server leaving out empty fields, or adding its own)
    past the 64 remembered layouts made every item compile a new cattrs function:
    40-50x the cost of an item. Past the bound, one generic function reads them."""
    from cme_async import _structure

    compiled: list[Any] = []
    real = _structure._shape_function

    def counting(*args: Any) -> Any:
        compiled.append(args[0])
        return real(*args)

    monkeypatch.setattr(_structure, "_shape_function", counting)
    monkeypatch.setattr(_structure, "_STRUCTURE", {})  # fresh hooks, counted from zero
    items: list[dict[str, Any]] = [
        {"BasicInfo": {"MaterialId": str(i), f"Extra{i % 300}": i, "Name": "n"}, "Odd": i}
        for i in range(3000)
    ]
    # both spellings at once: the same rule (the second is kept) on the generic road
    items.append({"MaterialBasicInfo": {"MaterialId": "x"}, "BasicInfo": {"Name": "y"}})
    model = parse(models.SearchMaterialResponse, {"MaterialInfoSet": items}, "X/Y")
    assert len(compiled) <= 3 * 64  # at most 64 per class (three classes here)
    for item, read in zip(items[:3000], model.material_info_set, strict=False):
        assert read.basic_info is not None
        assert read.basic_info.material_id == item["BasicInfo"]["MaterialId"]
        extra = {k: v for k, v in item["BasicInfo"].items() if k.startswith("Extra")}
        assert read.basic_info.unknown_fields == extra
        assert read.unknown_fields == {"Odd": item["Odd"]}
    last = model.material_info_set[-1]
    assert last.basic_info is not None and last.basic_info.material_id == "x"
    assert last.unknown_fields == {"BasicInfo": {"Name": "y"}}
    assert models.SearchMaterialResponse.from_dict(model.to_dict()) == model


def test_the_generic_road_reads_every_documented_answer_like_the_compiled_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from actions_support import reference_actions, spec_of

    from cme_async import _structure

    answers = [
        (getattr(models, f"{spec_of(a).action_name}Response"), e["response"]["Data"])
        for a in reference_actions()
        for e in a["examples"]
        if isinstance(e["response"].get("Data"), dict)
    ]
    assert len(answers) >= 20
    compiled = [parse(cls, data, "X/Y") for cls, data in answers]
    monkeypatch.setattr(_structure, "_STRUCTURE", {})
    monkeypatch.setattr(_structure, "_MAX_SHAPES", 0)  # every object on the generic road
    generic = [parse(cls, data, "X/Y") for cls, data in answers]
    assert generic == compiled
    assert [m.to_dict() for m in generic] == [m.to_dict() for m in compiled]
