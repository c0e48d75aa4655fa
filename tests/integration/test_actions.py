"""Every catalogue action at least once, through its generated method, over TCP."""

from __future__ import annotations

import asyncio

import pytest

import cme_async
from cme_async._catalogue import catalogue
from cme_async.testing import DEMO_FRIEND_ID, DEMO_PLATFORM, DEMO_TEAM_ID, FakeCme

from .conftest import ME, SCOPE


async def test_every_action_through_its_generated_method(
    client: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    m, p, t, team = client.material, client.project, client.task, client.team
    root = fake.root_class_id()

    # Classes: the tree, create, rename, delete.
    tree = await m.describe_class(platform=DEMO_PLATFORM, owner=ME)
    assert tree.class_info_set and tree.class_info_set[0].class_id == root
    made = await m.create_class(parent_class_id=root, name="integration", owner=ME)
    assert made.class_id
    await m.modify_class(class_id=made.class_id, owner=ME, name="integration-2")
    listed = await m.list_media(platform=DEMO_PLATFORM, class_id=root, owner=ME)
    assert "integration-2" in {c.name for c in listed.class_info_set or []}

    # Upload into the new class, then the material's life.
    up = await m.create_upload_material(
        class_id=made.class_id, material_type="VIDEO", name="上传的视频", owner=ME
    )
    assert up.upload_context and up.vod_upload_sign
    done = await m.finish_upload_material(
        upload_context=up.upload_context, vod_file_id="5285890811566343555"
    )
    mid = done.material_id
    assert mid
    found = await m.search_material(search_scopes=[{**SCOPE, "ClassId": made.class_id}])
    assert found.total_count == 1
    await m.modify_material(material_id=mid, name="改名的视频", tags=["集成测试"])
    details = await m.describe_materials(material_ids=[mid])
    [info] = details.material_info_set or []
    assert info.basic_info is not None and info.basic_info.name == "改名的视频"
    shared = await m.search_shared_material(
        authorizer={"Type": "PERSON", "Id": DEMO_FRIEND_ID}, authorizee=ME
    )
    assert shared.total_count and shared.total_count > 0

    # Processing, tasks, AI results.
    task_id = (await m.process_material(material_id=mid, definition=20)).task_id
    assert task_id
    for _ in range(100):
        tasks = await t.describe_tasks(task_ids=[task_id])
        [task] = tasks.task_info_set or []
        if task.status == "SUCCESS":
            break
        await asyncio.sleep(0.01)
    assert task.status == "SUCCESS" and task.progress == 100
    window = {"material_id": mid, "start_time_offset": 0.0, "end_time_offset": 10_000.0}
    assert (await m.describe_material_subtitle(**window)).subtitle_info is not None
    assert (await m.describe_text_in_material(**window)).text_info is not None
    assert (await m.describe_face_in_material(material_id=mid)).face_info is not None
    assert (await m.describe_object_in_material(material_id=mid)).object_info is not None
    tags = await m.describe_material_frame_tag(**window)
    assert tags.frame_tag_info is not None and tags.frame_tag_info.version
    item = await m.add_material_frame_tag(
        material_id=mid, start_time_offset=1.0, end_time_offset=2.0, tags=["手动"], version="manual"
    )
    assert item.item_id
    await m.modify_material_frame_tag(
        material_id=mid, item_id=item.item_id, tags=["改"], version="manual"
    )
    await m.delete_material_frame_tag(material_id=mid, item_id=item.item_id, version="manual")
    await t.delete_task(task_id=task_id)

    # Projects.
    projects = await p.describe_projects(limit=2)
    assert projects.total_count and projects.total_count > 2
    pid = (projects.project_info_set or [])[0].project_id
    assert pid
    await p.add_material_to_project(project_id=pid, material_ids=[mid])
    assert mid in ((await p.describe_project_materials(project_id=pid)).material_id_set or [])
    await p.delete_material_from_project(project_id=pid, material_ids=[mid])
    await p.modify_project(project_id=pid, name="集成测试项目")
    hits = await p.search_project(name="集成测试项目")
    assert [x.project_id for x in hits.project_basic_info_set or []] == [pid]
    await p.delete_project(project_id=pid)

    # Teams.
    joined = await team.describe_join_teams()
    assert [x.team_id for x in joined.team_set or []] == [DEMO_TEAM_ID]
    teams = await team.describe_teams(team_ids=[DEMO_TEAM_ID])
    assert (teams.team_set or [])[0].member_count == 2

    # Clean up: material, then its (now empty) class.
    await m.delete_material(material_id=mid)
    await m.delete_class(class_id=made.class_id)

    assert fake.internal_errors == []
    actions = set(catalogue().actions)
    assert len(actions) == 32
    assert actions <= set(fake.calls), sorted(actions - set(fake.calls))
    assert fake.logins == 1


async def test_typed_errors_for_bad_requests(
    client: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    mid = fake.material_ids()[0]
    await client.material.delete_material(material_id=mid)
    with pytest.raises(cme_async.InvalidParameterError) as info:
        await client.material.delete_material(material_id=mid)
    assert info.value.code == "InvalidParameterValue.MaterialId"
    assert info.value.request_id
    with pytest.raises(cme_async.PermissionDeniedError):
        await client.material.delete_material(material_id=fake.material_ids(DEMO_FRIEND_ID)[0])
    with pytest.raises(cme_async.NotFoundError):
        await client.material.describe_face_in_material(material_id=fake.material_ids()[1])
    with pytest.raises(cme_async.InvalidParameterError) as info:
        await client.call(
            "Material", "SearchMaterial", {"SearchScopes": [SCOPE], "MaterialTypes": ["MOVIE"]}
        )
    assert "MaterialTypes" in str(info.value)
    with pytest.raises(cme_async.InvalidParameterError) as info:
        await client.call("Material", "NoSuchAction", {})
    assert info.value.code == "InvalidAction"
