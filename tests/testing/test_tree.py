"""Class tree rules: per-owner roots, paths, create/rename/move/delete, ListMedia."""

from __future__ import annotations

from cme_async.testing import DEMO_PLATFORM, DEMO_TEAM_ID, FakeCme

from .conftest import ME, Api


async def _tree(api: Api, **kw: object) -> dict:
    return await api.data("Material/DescribeClass", {"Platform": DEMO_PLATFORM, "Owner": ME, **kw})


async def test_root_and_first_level(api: Api, fake: FakeCme) -> None:
    data = await _tree(api, FirstLevel=True)
    [root] = data["ClassInfoSet"]
    assert root["ParentClassId"] == -1
    assert root["ClassPath"] == "/个人"
    assert root["ClassId"] == fake.root_class_id()
    full = await _tree(api)
    paths = {c["ClassPath"] for c in full["ClassInfoSet"]}
    assert {"/个人", "/个人/视频", "/个人/视频/综艺", "/个人/音频"} <= paths
    by_id = {c["ClassId"]: c for c in full["ClassInfoSet"]}
    for c in full["ClassInfoSet"]:  # every parent is in the tree and paths chain up
        if c["ParentClassId"] != -1:
            parent = by_id[c["ParentClassId"]]
            assert c["ClassPath"] == parent["ClassPath"] + "/" + c["Name"]


async def test_create_describe_rename_move_delete(api: Api, fake: FakeCme) -> None:
    root = fake.root_class_id()
    a = (await api.data("Material/CreateClass", {"ParentClassId": root, "Name": "A", "Owner": ME}))[
        "ClassId"
    ]
    b = (await api.data("Material/CreateClass", {"ParentClassId": a, "Name": "B", "Owner": ME}))[
        "ClassId"
    ]
    assert (
        await api.code("Material/CreateClass", {"ParentClassId": root, "Name": "A", "Owner": ME})
        == "InvalidParameterValue.ClassExist"
    )
    sub = await _tree(api, BaseClassId=a)
    assert [c["ClassPath"] for c in sub["ClassInfoSet"]] == ["/个人/A/B"]
    assert [c["ClassId"] for c in sub["PathInfoSet"]] == [root, a]
    # A class cannot move under its own child.
    assert (
        await api.code("Material/ModifyClass", {"ClassId": a, "Owner": ME, "ParentClassId": b})
        == "InvalidParameterValue"
    )
    await api.data("Material/ModifyClass", {"ClassId": a, "Owner": ME, "Name": "A2"})
    await api.data("Material/ModifyClass", {"ClassId": b, "Owner": ME, "ParentClassId": root})
    paths = {c["ClassId"]: c["ClassPath"] for c in (await _tree(api))["ClassInfoSet"]}
    assert paths[a] == "/个人/A2" and paths[b] == "/个人/B"
    # Non-empty classes cannot be deleted; empty ones can, once.
    await api.data("Material/ModifyMaterial", {"MaterialId": fake.material_ids()[0], "ClassId": b})
    assert (
        await api.code("Material/DeleteClass", {"ClassId": b})
        == "InvalidParameterValue.ClassNotEmpty"
    )
    await api.data("Material/DeleteClass", {"ClassId": a})
    assert (
        await api.code("Material/DeleteClass", {"ClassId": a})
        == "InvalidParameterValue.ClassNotExist"
    )
    assert (
        await api.code("Material/DeleteClass", {"ClassId": root})
        == "OperationDenied.PermissionDeny"
    )


async def test_material_class_path_follows_renames(api: Api, fake: FakeCme) -> None:
    mid = fake.material_ids()[0]
    node = fake.state.classes[fake.state.materials[mid].class_id]
    await api.data("Material/ModifyClass", {"ClassId": node.class_id, "Owner": ME, "Name": "改名"})
    [info] = (await api.data("Material/DescribeMaterials", {"MaterialIds": [mid]}))[
        "MaterialInfoSet"
    ]
    assert info["BasicInfo"]["ClassPath"].endswith("/改名")


async def test_owners_have_separate_trees(api: Api, fake: FakeCme) -> None:
    other = {"Type": "PERSON", "Id": "stranger"}
    assert await api.code(
        "Material/DescribeClass", {"Platform": DEMO_PLATFORM, "Owner": other}
    ) == ("OperationDenied.PermissionDeny")
    team = {"Type": "TEAM", "Id": DEMO_TEAM_ID}
    data = await api.data("Material/DescribeClass", {"Platform": DEMO_PLATFORM, "Owner": team})
    assert data["ClassInfoSet"][0]["Owner"] == team
    my_root = fake.root_class_id()
    # My class id under the team owner is refused.
    assert (
        await api.code(
            "Material/CreateClass", {"ParentClassId": my_root, "Name": "x", "Owner": team}
        )
        == "OperationDenied.PermissionDeny"
    )


async def test_list_media_pages_and_subclasses(api: Api, fake: FakeCme) -> None:
    video = fake.state.ensure_path(("PERSON", "demo_user"), "/个人/视频")
    body = {"Platform": DEMO_PLATFORM, "ClassId": video.class_id, "Owner": ME}
    first = await api.data("Material/ListMedia", {**body, "Limit": 5})
    total = first["MaterialTotalCount"]
    assert total == len(video.materials) > 5
    assert {c["Name"] for c in first["ClassInfoSet"]} == {"综艺", "新闻"}
    seen = [m["BasicInfo"]["MaterialId"] for m in first["MaterialInfoSet"]]
    offset = 5
    while offset < total:
        page = await api.data("Material/ListMedia", {**body, "Offset": offset, "Limit": 5})
        assert page["MaterialTotalCount"] == total
        seen += [m["BasicInfo"]["MaterialId"] for m in page["MaterialInfoSet"]]
        offset += 5
    assert sorted(seen) == sorted(video.materials)
    assert (
        await api.code("Material/ListMedia", {**body, "Limit": 31}) == "InvalidParameterValue.Limit"
    )
    assert await api.code("Material/ListMedia", {**body, "Platform": "x"}) == (
        "InvalidParameterValue.Platform"
    )
