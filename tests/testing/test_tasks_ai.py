"""Tasks that progress to SUCCESS, AI results, frame tags, projects, teams."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from cme_async.testing import DEMO_TEAM_ID, DEMO_USER_ID, FakeCme

from .conftest import Api, Clock


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[Api, FakeCme, Clock]]:
    clock = Clock()
    fake = FakeCme.seeded(clock=clock, task_duration=10.0, ai_page_size=3)
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        api = Api(http, fake)
        await api.login()
        yield api, fake, clock


def _unprocessed(fake: FakeCme) -> str:
    return next(
        m
        for m in fake.material_ids()
        if not fake.state.materials[m].ai and fake.state.materials[m].material_type == "VIDEO"
    )


async def test_process_material_task_progresses_to_success(
    clocked: tuple[Api, FakeCme, Clock],
) -> None:
    api, fake, clock = clocked
    mid = _unprocessed(fake)
    span = {"MaterialId": mid, "StartTimeOffset": 0.0, "EndTimeOffset": 100000.0}
    not_yet = await api.call("Material/DescribeMaterialSubtitle", span)
    assert not_yet["Code"] == "ResourceNotFound" and "no asr index" in not_yet["EnglishMessage"]
    assert await api.code("Material/ProcessMaterial", {"MaterialId": mid, "Definition": 7}) == (
        "InvalidParameterValue.Definition"
    )
    task_id = (await api.data("Material/ProcessMaterial", {"MaterialId": mid, "Definition": 20}))[
        "TaskId"
    ]
    progress = []
    for _ in range(3):
        [task] = (await api.data("Task/DescribeTasks", {"TaskIds": [task_id]}))["TaskInfoSet"]
        progress.append((task["Status"], task["Progress"]))
        clock.now += 5
    assert progress[0] == ("PROCESSING", 0)
    assert progress[1][0] == "PROCESSING" and 0 < progress[1][1] < 100
    assert progress[2] == ("SUCCESS", 100)
    for action, key in [
        ("DescribeMaterialSubtitle", "SubtitleInfo"),
        ("DescribeTextInMaterial", "TextInfo"),
        ("DescribeMaterialFrameTag", "FrameTagInfo"),
    ]:
        assert key in await api.data(f"Material/{action}", span)
    assert (await api.data("Material/DescribeFaceInMaterial", {"MaterialId": mid}))["FaceInfo"][
        "FaceSet"
    ]
    assert (await api.data("Material/DescribeObjectInMaterial", {"MaterialId": mid}))["ObjectInfo"][
        "ObjectSet"
    ]
    by_material = await api.data("Task/DescribeTasks", {"MaterialId": mid})
    assert [t["TaskId"] for t in by_material["TaskInfoSet"]] == [task_id]
    await api.data("Task/DeleteTask", {"TaskId": task_id})
    assert await api.code("Task/DeleteTask", {"TaskId": task_id}) == "ResourceNotFound"
    assert await api.code("Task/DescribeTasks", {"TaskIds": [task_id]}) == "ResourceNotFound"


async def test_subtitle_only_definition(clocked: tuple[Api, FakeCme, Clock]) -> None:
    api, fake, clock = clocked
    mid = _unprocessed(fake)
    await api.data("Material/ProcessMaterial", {"MaterialId": mid, "Definition": 30})
    clock.now += 11
    assert "SubtitleInfo" in await api.data(
        "Material/DescribeMaterialSubtitle",
        {"MaterialId": mid, "StartTimeOffset": 0, "EndTimeOffset": 1e6},
    )
    assert (
        await api.code("Material/DescribeFaceInMaterial", {"MaterialId": mid}) == "ResourceNotFound"
    )


async def test_time_window_paging_by_last_time_offset(clocked: tuple[Api, FakeCme, Clock]) -> None:
    api, fake, _ = clocked
    mid = next(m for m in fake.material_ids() if fake.state.materials[m].ai)
    everything = fake.state.materials[mid].ai["subtitle"].items
    assert len(everything) > 3
    start, seen, pages = 0.0, [], 0
    while True:
        info = (
            await api.data(
                "Material/DescribeMaterialSubtitle",
                {"MaterialId": mid, "StartTimeOffset": start, "EndTimeOffset": 1e6},
            )
        )["SubtitleInfo"]
        seen += [i["ItemId"] for i in info["SubtitleSet"]]
        pages += 1
        if info["LastTimeOffset"] == -1:
            break
        assert info["LastTimeOffset"] > start
        start = info["LastTimeOffset"]
    assert pages >= 2
    assert sorted(seen) == sorted(i["ItemId"] for i in everything)
    assert len(seen) == len(set(seen))
    assert (
        await api.code(
            "Material/DescribeMaterialSubtitle",
            {"MaterialId": mid, "StartTimeOffset": 5.0, "EndTimeOffset": 1.0},
        )
        == "InvalidParameterValue"
    )


async def test_manual_frame_tags(api: Api, fake: FakeCme) -> None:
    mid = _unprocessed(fake)
    span = {"MaterialId": mid, "StartTimeOffset": 0.0, "EndTimeOffset": 100.0}
    assert await api.code("Material/DescribeMaterialFrameTag", span) == "ResourceNotFound"
    bad = await api.call(
        "Material/AddMaterialFrameTag",
        {
            **span,
            "StartTimeOffset": 8.25,
            "EndTimeOffset": 5.2,
            "Tags": ["游戏"],
            "Version": "manual",
        },
    )
    assert bad["EnglishMessage"] == "starttime bigger than endtime"
    item = (
        await api.data(
            "Material/AddMaterialFrameTag",
            {
                "MaterialId": mid,
                "StartTimeOffset": 1.25,
                "EndTimeOffset": 5.2,
                "Tags": ["游戏", "关羽"],
                "Version": "manual",
            },
        )
    )["ItemId"]
    info = await api.data("Material/DescribeMaterialFrameTag", {**span, "OnlyManual": True})
    assert [i["ItemId"] for i in info["FrameTagInfo"]["FrameTagSet"]] == [item]
    await api.data(
        "Material/ModifyMaterialFrameTag",
        {"MaterialId": mid, "ItemId": item, "Tags": ["改"], "Version": "manual"},
    )
    info = await api.data("Material/DescribeMaterialFrameTag", span)
    assert info["FrameTagInfo"]["FrameTagSet"][0]["Tags"] == ["改"]
    await api.data(
        "Material/DeleteMaterialFrameTag", {"MaterialId": mid, "ItemId": item, "Version": "manual"}
    )
    assert await api.code("Material/DescribeMaterialFrameTag", span) == "ResourceNotFound"
    assert await api.code("Material/DeleteMaterialFrameTag", {"MaterialId": "1"}) == (
        "InvalidParameterValue.MaterialId"
    )


async def test_projects(api: Api, fake: FakeCme) -> None:
    listed = await api.data("Project/DescribeProjects", {"Limit": 100})
    total = listed["TotalCount"]
    assert total == len(listed["ProjectInfoSet"]) >= 5
    pid = listed["ProjectInfoSet"][0]["ProjectId"]
    live = await api.data("Project/DescribeProjects", {"CategorySet": ["Live"]})
    assert {p["Category"] for p in live["ProjectInfoSet"]} == {"Live"}
    mids = fake.material_ids()[:2]
    await api.data("Project/AddMaterialToProject", {"ProjectId": pid, "MaterialIds": mids})
    got = (await api.data("Project/DescribeProjectMaterials", {"ProjectId": pid}))["MaterialIdSet"]
    assert set(mids) <= set(got)
    await api.data("Project/DeleteMaterialFromProject", {"ProjectId": pid, "MaterialIds": mids[:1]})
    got = (await api.data("Project/DescribeProjectMaterials", {"ProjectId": pid}))["MaterialIdSet"]
    assert mids[0] not in got and mids[1] in got
    assert (
        await api.code(
            "Project/AddMaterialToProject", {"ProjectId": pid, "MaterialIds": ["1"] * 11}
        )
        != "Success"
    )
    await api.data(
        "Project/ModifyProject", {"ProjectId": pid, "Name": "新项目名", "WHRatio": "9:16"}
    )
    found = await api.data("Project/SearchProject", {"Name": "新项目名"})
    assert [p["ProjectId"] for p in found["ProjectBasicInfoSet"]] == [pid]
    lack = await api.call("Project/SearchProject", {"Limit": 1})
    assert lack["EnglishMessage"] == "param lack of CategorySet or Name"
    await api.data("Project/DeleteProject", {"ProjectId": pid})
    assert await api.code("Project/DeleteProject", {"ProjectId": pid}) == (
        "InvalidParameterValue.ProjectId"
    )
    assert (await api.data("Project/DescribeProjects", {"Limit": 100}))["TotalCount"] == total - 1
    assert (
        await api.code("Project/DescribeProjects", {"Name": "不存在的项目"}) == "ResourceNotFound"
    )


async def test_teams(api: Api) -> None:
    joined = await api.data("Team/DescribeJoinTeams", {})
    assert joined["TotalCount"] == 1
    assert joined["TeamSet"][0] == {
        "TeamId": DEMO_TEAM_ID,
        "Name": "演示团队",
        "MemberCount": 2,
        "Role": "Owner",
    }
    teams = await api.data("Team/DescribeTeams", {"TeamIds": [DEMO_TEAM_ID, "cmetid_nope"]})
    assert [t["TeamId"] for t in teams["TeamSet"]] == [DEMO_TEAM_ID]
    over = await api.call("Team/DescribeJoinTeams", {"Limit": 50})
    assert over["Code"] == "InvalidParameterValue.Limit"
    assert over["EnglishMessage"] == "Limit greate than max"
    newcomer = await api.login(user_id="newcomer")
    assert newcomer["Response"]["Authorization"]
    assert (await api.data("Team/DescribeJoinTeams"))["TotalCount"] == 0
    assert DEMO_USER_ID != "newcomer"


async def test_seed_from_json_file(tmp_path) -> None:
    import json

    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps(
            {
                "classes": [{"Owner": {"Type": "PERSON", "Id": "u1"}, "ClassPath": "/个人/a/b"}],
                "materials": [
                    {
                        "MaterialId": "11111111111111111111",
                        "Owner": {"Type": "PERSON", "Id": "u1"},
                        "ClassPath": "/个人/a",
                        "Name": "m",
                        "MaterialType": "IMAGE",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    fake = FakeCme(seed=path)
    node = fake.state.ensure_path(("PERSON", "u1"), "/个人/a")
    assert list(node.materials) == ["11111111111111111111"]
    assert fake.state.class_path(fake.state.classes[node.children[0]]) == "/个人/a/b"
