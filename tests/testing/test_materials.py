"""Materials: search filters and paging, details, modify, delete, validation."""

from __future__ import annotations

from cme_async.testing import DEMO_FRIEND_ID, DEMO_PLATFORM, DEMO_USER_ID, FakeCme

from .conftest import ME, Api

SCOPE = {"Platform": DEMO_PLATFORM, "Owner": ME}


async def _search(api: Api, **kw: object) -> dict:
    return await api.data("Material/SearchMaterial", {"SearchScopes": [SCOPE], **kw})


def _ids(data: dict) -> list[str]:
    return [m["BasicInfo"]["MaterialId"] for m in data["MaterialInfoSet"]]


async def test_search_pages_cover_everything_once(api: Api, fake: FakeCme) -> None:
    everything = await _search(api, Limit=100)
    total = everything["TotalCount"]
    assert total == len(fake.material_ids()) >= 30
    pages: list[str] = []
    for offset in range(0, total + 7, 7):
        page = await _search(api, Offset=offset, Limit=7)
        assert page["TotalCount"] == total
        pages += _ids(page)
    assert pages == _ids(everything)  # same order, no gaps, no repeats
    times = [m["BasicInfo"]["CreateTime"] for m in everything["MaterialInfoSet"]]
    assert times == sorted(times, reverse=True)  # default: CreateTime Desc
    asc = await _search(api, Limit=100, Sort={"Field": "CreateTime", "Order": "Asc"})
    assert _ids(asc) == list(reversed(_ids(everything)))


async def test_search_filters(api: Api, fake: FakeCme) -> None:
    mats = fake.state.materials
    audio = await _search(api, MaterialTypes=["AUDIO"], Limit=100)
    assert audio["TotalCount"] == 8
    assert all(mats[i].material_type == "AUDIO" for i in _ids(audio))
    text = await _search(api, Text="脱口秀", Limit=100)
    assert text["TotalCount"] > 0 and all("脱口秀" in mats[i].name for i in _ids(text))
    some_tag = next(t for m in mats.values() if m.owner == ("PERSON", DEMO_USER_ID) for t in m.tags)
    tagged = await _search(api, Tags=[some_tag], Limit=100)
    assert tagged["TotalCount"] > 0 and all(some_tag in mats[i].tags for i in _ids(tagged))
    window = {"StartTime": "2024-03-01T00:00:00Z", "EndTime": "2024-06-30T23:59:59Z"}
    dated = await _search(api, CreateTimeRange=window, Limit=100)
    assert 0 < dated["TotalCount"] < len(fake.material_ids())
    assert all(
        "2024-03" <= m["BasicInfo"]["CreateTime"][:7] <= "2024-06" for m in dated["MaterialInfoSet"]
    )
    short = await _search(
        api,
        DurationRange={"LowerBound": 0, "UpperBound": 100},
        Limit=100,
        MaterialTypes=["VIDEO", "AUDIO"],
    )
    assert all(mats[i].duration <= 100 for i in _ids(short))
    fhd = await _search(api, Resolutions=["FHD"], Limit=100)
    assert all(mats[i].resolution == "FHD" for i in _ids(fhd))
    one_depth = await api.data(
        "Material/SearchMaterial",
        {"SearchScopes": [{**SCOPE, "ClassId": fake.root_class_id(), "SearchOneDepth": True}]},
    )
    assert one_depth["TotalCount"] == 0  # nothing is filed directly under the root


async def test_search_validation(api: Api) -> None:
    assert await api.code("Material/SearchMaterial", {}) == "MissingParameter"
    bad_type = await api.call(
        "Material/SearchMaterial", {"SearchScopes": [SCOPE], "MaterialTypes": ["MOVIE"]}
    )
    assert bad_type["Code"].startswith("InvalidParameterValue")
    assert "MaterialTypes" in bad_type["EnglishMessage"]
    too_long = await api.call(
        "Material/SearchMaterial", {"SearchScopes": [SCOPE], "Text": "x" * 16}
    )
    assert (
        too_long["Code"].startswith("InvalidParameterValue")
        and "Text" in too_long["EnglishMessage"]
    )
    missing_owner = await api.call(
        "Material/SearchMaterial", {"SearchScopes": [{"Platform": DEMO_PLATFORM}]}
    )
    assert (
        missing_owner["Code"] == "MissingParameter" and "Owner" in missing_owner["EnglishMessage"]
    )
    assert await api.code("Material/SearchMaterial", {"SearchScopes": [SCOPE] * 6}) != "Success"


async def test_describe_modify_delete(api: Api, fake: FakeCme) -> None:
    mid = fake.material_ids()[0]
    data = await api.data(
        "Material/DescribeMaterials",
        {"MaterialIds": [mid, "00000000000000000000"], "FilterInfo": {"NeedImageSpriteInfo": True}},
    )
    [info] = data["MaterialInfoSet"]
    assert info["BasicInfo"]["MaterialId"] == mid
    assert info["MediaInfo"]["MediaType"] == info["BasicInfo"]["MaterialType"]
    assert "ImageSpriteInfo" in info["VideoMaterial"]
    [failed] = data["FailedMaterialInfoSet"]
    assert failed["ErrorInfo"]["Code"] == "InvalidParameterValue.MaterialId"

    await api.data(
        "Material/ModifyMaterial",
        {"MaterialId": mid, "Name": "新名字", "Tags": ["a", "b"], "PresetTagIds": ["1002"]},
    )
    [info] = (await api.data("Material/DescribeMaterials", {"MaterialIds": [mid]}))[
        "MaterialInfoSet"
    ]
    assert info["BasicInfo"]["Name"] == "新名字"
    assert info["BasicInfo"]["TagSet"] == ["a", "b"]
    assert [t["Id"] for t in info["BasicInfo"]["TagInfoSet"]] == ["1002"]
    assert (await _search(api, Text="新名字"))["TotalCount"] == 1
    assert await api.code("Material/ModifyMaterial", {"MaterialId": mid, "Tags": ["x" * 16]}) != (
        "Success"
    )
    assert await api.code("Material/ModifyMaterial", {"MaterialId": mid, "Tags": ["t"] * 31}) != (
        "Success"
    )

    total = (await _search(api))["TotalCount"]
    assert await api.code("Material/DeleteMaterial", {"MaterialId": mid}) == "Success"
    assert await api.code("Material/DeleteMaterial", {"MaterialId": mid}) == (
        "InvalidParameterValue.MaterialId"
    )
    assert (await _search(api))["TotalCount"] == total - 1
    assert await api.code("Material/ModifyMaterial", {"MaterialId": mid, "Name": "x"}) == (
        "InvalidParameterValue.MaterialId"
    )


async def test_other_users_materials_are_denied(api: Api, fake: FakeCme) -> None:
    theirs = fake.material_ids(DEMO_FRIEND_ID)[0]
    assert await api.code("Material/DeleteMaterial", {"MaterialId": theirs}) == (
        "OperationDenied.PermissionDeny"
    )
    assert theirs in fake.state.materials


async def test_shared_materials(api: Api, fake: FakeCme) -> None:
    friend = {"Type": "PERSON", "Id": DEMO_FRIEND_ID}
    data = await api.data("Material/SearchSharedMaterial", {"Authorizer": friend, "Authorizee": ME})
    assert data["TotalCount"] == len(fake.material_ids(DEMO_FRIEND_ID))
    assert all(m["BasicInfo"]["Owner"] == friend for m in data["MaterialInfoSet"])
    assert await api.code(
        "Material/SearchSharedMaterial",
        {"Authorizer": friend, "Authorizee": {"Type": "PERSON", "Id": "someone"}},
    ) == ("OperationDenied.PermissionDeny")


async def test_upload_context_becomes_a_material(api: Api, fake: FakeCme) -> None:
    root = fake.root_class_id()
    up = await api.data(
        "Material/CreateUploadMaterial",
        {"ClassId": root, "MaterialType": "VIDEO", "Name": "上传测试", "Owner": ME},
    )
    assert up["UploadContext"] and up["VodUploadSign"]
    assert (
        await api.code(
            "Material/CreateUploadMaterial",
            {"ClassId": root, "MaterialType": "PDF", "Name": "x", "Owner": ME},
        )
        != "Success"
    )
    done = await api.data(
        "Material/FinishUploadMaterial",
        {"UploadContext": up["UploadContext"], "VodFileId": "5285890811566343555"},
    )
    material = fake.state.materials[done["MaterialId"]]
    assert material.name == "上传测试" and material.class_id == root
    assert (
        await api.code(
            "Material/FinishUploadMaterial",
            {"UploadContext": up["UploadContext"], "VodFileId": "1"},
        )
        == "InvalidParameterValue.UploadContext"
    )
