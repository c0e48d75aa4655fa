"""Project actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._faults import Fault, invalid
from ..world.model import JSON, Project
from ._common import Ctx, Handler, offset_limit, sort_spec
from ._read import need_text, obj, strings, text


def _material_ids(ctx: Ctx, body: Mapping[str, Any]) -> list[str]:
    ids = strings(body, "MaterialIds", required=True)
    for mid in ids:
        ctx.state.user_material(ctx.user_id, mid)
    return ids


def add_material_to_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    for mid in _material_ids(ctx, body):
        if mid not in project.material_ids:
            project.material_ids.append(mid)
    project.update_time = ctx.state.clock()
    return None


def delete_material_from_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    ids = strings(body, "MaterialIds", required=True)
    project.material_ids = [m for m in project.material_ids if m not in ids]
    project.update_time = ctx.state.clock()
    return None


def describe_project_materials(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    return {"MaterialIdSet": list(project.material_ids)}


def delete_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    del ctx.state.projects[project.project_id]
    return None


def modify_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    project = ctx.state.user_project(ctx.user_id, need_text(body, "ProjectId"))
    name = text(body, "Name")
    description = text(body, "Description")
    cover_url = text(body, "CoverUrl")
    cover_source = text(body, "CoverSource")
    ratio = text(body, "WHRatio")
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


def describe_projects(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    ids = strings(body, "ProjectIds")  # a list, as the catalogue says (checked before)
    categories = strings(body, "CategorySet")
    name = text(body, "Name")
    offset, limit = offset_limit(ctx, body)
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


def search_project(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    categories = strings(body, "CategorySet")
    name = text(body, "Name")
    if not categories and not name:
        raise Fault("InvalidParameterValue", "param lack of CategorySet or Name")
    offset, limit = offset_limit(ctx, body)
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


HANDLERS: dict[str, Handler] = {
    "Project/AddMaterialToProject": add_material_to_project,
    "Project/DeleteMaterialFromProject": delete_material_from_project,
    "Project/DescribeProjectMaterials": describe_project_materials,
    "Project/DeleteProject": delete_project,
    "Project/ModifyProject": modify_project,
    "Project/DescribeProjects": describe_projects,
    "Project/SearchProject": search_project,
}
