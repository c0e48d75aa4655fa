"""Task actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._faults import Fault
from ..world.model import JSON
from ._common import Ctx, Handler, offset_limit, sort_spec
from ._read import need_text, strings, text


def _task_visible(ctx: Ctx, task_user: str, project_id: str | None) -> bool:
    if task_user == ctx.user_id:
        return True
    project = ctx.state.projects.get(project_id or "")
    return project is not None and ctx.state.can_access(ctx.user_id, project.owner)


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
    offset, limit = offset_limit(ctx, body, fallback_page=10)
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


def delete_task(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    task_id = need_text(body, "TaskId")
    task = ctx.state.tasks.get(task_id)
    if task is None or not _task_visible(ctx, task.user_id, task.project_id):
        raise Fault("ResourceNotFound")
    del ctx.state.tasks[task_id]
    return None


HANDLERS: dict[str, Handler] = {
    "Task/DescribeTasks": describe_tasks,
    "Task/DeleteTask": delete_task,
}
