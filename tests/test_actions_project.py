"""``client.project``: the generated methods post the right path and wire body and parse."""

from __future__ import annotations

from actions_support import mocked_client, route, sent

from cme_async import NotFoundError
from cme_async._generated.models import (
    DescribeProjectsResponse,
    ProjectInfo,
    SwitcherInfoForUpdate,
    SwitcherPgmOutputConfigForUpdate,
)


def ok(data: object = None) -> dict[str, object]:
    body: dict[str, object] = {"Code": "Success", "Message": "成功", "EnglishMessage": "success"}
    if data is not None:
        body["Data"] = data
    return body


async def test_modify_project_nested_structures() -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Project", "ModifyProject").respond(json=ok())
        result = await client.project.modify_project(
            project_id="cmepid_1",
            name="新名字",
            wh_ratio="16:9",
            switcher_info=SwitcherInfoForUpdate(
                stop_time="2026-01-01T00:00:00Z",
                pgm_output_config=SwitcherPgmOutputConfigForUpdate(width=1920, height=1080, fps=25),
            ),
            stream_connect_info={"stop_time": "2026-01-02T00:00:00Z"},
        )
    assert result is None
    assert sent(r) == {
        "ProjectId": "cmepid_1",
        "Name": "新名字",
        "WHRatio": "16:9",
        "SwitcherInfo": {
            "StopTime": "2026-01-01T00:00:00Z",
            "PgmOutputConfig": {"Width": 1920, "Height": 1080, "Fps": 25},
        },
        "StreamConnectInfo": {"StopTime": "2026-01-02T00:00:00Z"},
    }


async def test_describe_projects_category_as_string_or_list() -> None:
    projects = [
        {
            "ProjectId": "cmepid_1",
            "Category": "Default",
            "Version": 1608449142,
            "Owner": {"Id": "u", "Type": "PERSON"},
        },
        {"ProjectId": "cmepid_2", "Category": ["Live"]},
    ]
    async with mocked_client() as (client, router):
        r = route(router, "Project", "DescribeProjects").respond(
            json=ok({"TotalCount": 2, "ProjectInfoSet": projects})
        )
        result = await client.project.describe_projects(
            project_ids=["cmepid_1", "cmepid_2"], category_set=["Default", "Live"], limit=2
        )
    assert sent(r) == {
        "ProjectIds": ["cmepid_1", "cmepid_2"],
        "CategorySet": ["Default", "Live"],
        "Limit": 2,
    }
    assert isinstance(result, DescribeProjectsResponse)
    assert result.project_info_set is not None
    first, second = result.project_info_set
    assert isinstance(first, ProjectInfo)
    assert (first.category, first.version) == ("Default", 1608449142)
    assert second.category == ["Live"]


async def test_project_materials_add_list_and_error() -> None:
    async with mocked_client() as (client, router):
        add = route(router, "Project", "AddMaterialToProject").respond(json=ok())
        listing = route(router, "Project", "DescribeProjectMaterials").respond(
            json=ok({"MaterialIdSet": ["m1", "m2"]})
        )
        search = route(router, "Project", "SearchProject").respond(
            json={"Code": "ResourceNotFound", "Message": "", "EnglishMessage": "resource not found"}
        )
        await client.project.add_material_to_project(project_id="p", material_ids=("m1", "m2"))
        ids = await client.project.describe_project_materials(project_id="p")
        try:
            await client.project.search_project(name="x")
        except NotFoundError as exc:
            assert exc.code == "ResourceNotFound"
        else:  # pragma: no cover - the assertion below explains
            raise AssertionError("SearchProject error answer did not raise")
    assert sent(add) == {"ProjectId": "p", "MaterialIds": ["m1", "m2"]}
    assert sent(listing) == {"ProjectId": "p"}
    assert ids.material_id_set == ["m1", "m2"]
    assert sent(search) == {"Name": "x"}
