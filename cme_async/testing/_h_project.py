"""Project, team and task actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._faults import Fault, invalid
from ._handlers import Ctx, action, offset_limit, sort_spec
from ._model import JSON, Project
from ._validate import need_text, obj, strings, text

CATEGORIES = ("Default", "Live", "VideoSegmentation", "Switcher", "StreamConnect")
SEARCH_CATEGORIES = ("Default", "Live", "VideoSegmentation")


def _material_ids(ctx: Ctx, body: Mapping[str, Any]) -> list[str]:
    ids = strings(body, "MaterialIds", required=True, max_items=10)
    for mid in ids:
        ctx.state.user_material(ctx.user_id, mid)
    return ids


@action("Project", "AddMaterialToProject")
def add_material_to_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    for mid in _material_ids(ctx, body):
        if mid not in project.material_ids:
            project.material_ids.append(mid)
    project.update_time = ctx.state.clock()
    return None


@action("Project", "DeleteMaterialFromProject")
def delete_material_from_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    ids = strings(body, "MaterialIds", required=True, max_items=10)
    project.material_ids = [m for m in project.material_ids if m not in ids]
    project.update_time = ctx.state.clock()
    return None


@action("Project", "DescribeProjectMaterials")
def describe_project_materials(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    return {"MaterialIdSet": list(project.material_ids)}


@action("Project", "DeleteProject")
def delete_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    del ctx.state.projects[project.project_id]
    return None


@action("Project", "ModifyProject")
def modify_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    name = text(body, "Name", max_len=20)
    description = text(body, "Description")
    cover_url = text(body, "CoverUrl")
    cover_source = text(body, "CoverSource", choices=("USER", "DEFAULT"))
    ratio = text(body, "WHRatio", choices=("9:16", "16:9"))
    if obj(body, "SwitcherInfo") is not None and project.category != "Switcher":
        raise invalid("SwitcherInfo", "project is not a Switcher project")
    if obj(body, "StreamConnectInfo") is not None and project.category != "StreamConnect":
        raise invalid("StreamConnectInfo", "project is not a StreamConnect project")
    if name is not None:
        if not name.strip():
            raise invalid("Name", "must not be empty", "InvalidParameterValue.Name")
        project.name = name
    if description is not None:
        project.description = description
    if cover_url is not None:
        project.cover_url = cover_url
        project.cover_source = cover_source or "USER"
    elif cover_source is not None:
        project.cover_source = cover_source
    if ratio is not None:
        project.wh_ratio = ratio
    project.version += 1
    project.update_time = ctx.state.clock()
    return None


def _visible_projects(ctx: Ctx) -> list[Project]:
    return [p for p in ctx.state.projects.values() if ctx.state.can_access(ctx.user_id, p.owner)]


def _ordered(projects: list[Project], body: Mapping[str, Any]) -> list[Project]:
    _, desc = sort_spec(body, ("CreateTime",))
    return sorted(projects, key=lambda p: (p.create_time, p.project_id), reverse=desc)


@action("Project", "DescribeProjects")
def describe_projects(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    raw_ids = body.get("ProjectIds")
    # Typed String but described as an array of at most 20 ids: accept both.
    ids = [raw_ids] if isinstance(raw_ids, str) else strings(body, "ProjectIds", max_items=20)
    categories = strings(body, "CategorySet", choices=CATEGORIES)
    name = text(body, "Name", max_len=30)
    offset, limit = offset_limit(body, 50, None)
    hits = [
        p
        for p in _visible_projects(ctx)
        if (not ids or p.project_id in ids)
        and (not categories or p.category in categories)
        and (not name or name.lower() in p.name.lower())
    ]
    if not hits:  # documented: an empty match answers ResourceNotFound
        raise Fault("ResourceNotFound")
    hits = _ordered(hits, body)
    return {
        "TotalCount": len(hits),
        "ProjectInfoSet": [p.info_json() for p in hits[offset : offset + limit]],
    }


@action("Project", "SearchProject")
def search_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    categories = strings(body, "CategorySet", choices=SEARCH_CATEGORIES)
    name = text(body, "Name", max_len=15)
    if not categories and not name:
        raise Fault("InvalidParameterValue", "param lack of CategorySet or Name")
    offset, limit = offset_limit(body, 50, None)
    hits = [
        p
        for p in _visible_projects(ctx)
        if (not categories or p.category in categories)
        and (not name or name.lower() in p.name.lower())
    ]
    hits = _ordered(hits, body)
    return {
        "TotalCount": len(hits),
        "ProjectBasicInfoSet": [p.basic_json() for p in hits[offset : offset + limit]],
    }


# ---- teams -------------------------------------------------------------------------


@action("Team", "DescribeTeams")
def describe_teams(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    ids = strings(body, "TeamIds", required=True, max_items=30)
    teams = [ctx.state.teams[t] for t in dict.fromkeys(ids) if t in ctx.state.teams]
    return {"TeamSet": [t.info_json() for t in teams]}


@action("Team", "DescribeJoinTeams")
def describe_join_teams(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    offset, limit = offset_limit(body, 20, 30)
    teams = sorted(ctx.state.user_teams(ctx.user_id), key=lambda t: (t.create_time, t.team_id))
    return {
        "TotalCount": len(teams),
        "TeamSet": [
            {
                "TeamId": t.team_id,
                "Name": t.name,
                "MemberCount": len(t.members),
                "Role": t.members[ctx.user_id],
            }
            for t in teams[offset : offset + limit]
        ],
    }


# ---- tasks ---------------------------------------------------------------------------


def _task_visible(ctx: Ctx, task_user: str, project_id: str | None) -> bool:
    if task_user == ctx.user_id:
        return True
    project = ctx.state.projects.get(project_id or "")
    return project is not None and ctx.state.can_access(ctx.user_id, project.owner)


@action("Task", "DescribeTasks")
def describe_tasks(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    st.advance_tasks()
    project_name = text(body, "ProjectName")
    project_id = text(body, "ProjectId")
    material_id = text(body, "MaterialId")
    task_ids = strings(body, "TaskIds")
    types = strings(body, "TaskTypeSet")
    statuses = strings(body, "StatusSet")
    _, desc = sort_spec(body, ("CreateTime",))
    offset, limit = offset_limit(body, 10, 30)
    hits = []
    for task in st.tasks.values():
        if not _task_visible(ctx, task.user_id, task.project_id):
            continue
        if project_id and task.project_id != project_id:
            continue
        if project_name:
            project = st.projects.get(task.project_id or "")
            if project is None or project_name not in project.name:
                continue
        if material_id and task.material_id != material_id:
            continue
        if task_ids and task.task_id not in task_ids:
            continue
        if (types and task.task_type not in types) or (statuses and task.status not in statuses):
            continue
        hits.append(task)
    if not hits:  # documented: a query matching no task answers ResourceNotFound
        raise Fault("ResourceNotFound")
    hits.sort(key=lambda t: (t.create_time, t.task_id), reverse=desc)
    return {
        "TotalCount": len(hits),
        "TaskInfoSet": [t.info_json() for t in hits[offset : offset + limit]],
    }


@action("Task", "DeleteTask")
def delete_task(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    task_id = need_text(body, "TaskId")
    task = ctx.state.tasks.get(task_id)
    if task is None or not _task_visible(ctx, task.user_id, task.project_id):
        raise Fault("ResourceNotFound")
    del ctx.state.tasks[task_id]
    return None
