"""Material actions: media, classes (folders) and the upload pair."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .._faults import Fault, invalid
from ..world.model import JSON, Material, OwnerKey, Upload
from ..world.render import material_detail, material_summary
from ..world.state import PRESET_TAGS
from ._common import Ctx, Handler, offset_limit, sort_spec
from ._read import (
    boolean,
    entity,
    integer,
    need_int,
    need_text,
    obj,
    objects,
    strings,
    text,
)

# ---- media -------------------------------------------------------------------


def delete_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    material = ctx.state.user_material(ctx.user_id, need_text(body, "MaterialId"))
    ctx.state.delete_material(material)
    return None


def modify_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    material = st.user_material(ctx.user_id, need_text(body, "MaterialId"))
    class_id = integer(body, "ClassId")
    name = text(body, "Name")
    preset = strings(body, "PresetTagIds") if "PresetTagIds" in body else None
    tags = strings(body, "Tags") if "Tags" in body else None
    for tag_id in preset or ():
        if tag_id not in PRESET_TAGS:
            raise invalid("PresetTagIds", f"preset tag not exist: {tag_id}")
    if class_id is not None:
        st.move_material(material, st.user_class(ctx.user_id, class_id, material.owner))
    if name is not None:
        if not name.strip():
            raise invalid("Name", "must not be empty", "InvalidParameterValue.Name")
        material.name = name
    if preset is not None:
        material.preset_tag_ids = list(dict.fromkeys(preset))
    if tags is not None:
        material.tags = list(dict.fromkeys(tags))
    material.update_time = st.clock()
    return None


def list_media(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    ctx.check_platform(body)
    owner = entity(body, "Owner")
    node = ctx.state.user_class(ctx.user_id, need_int(body, "ClassId"), owner)
    offset, limit = offset_limit(ctx, body)
    ids = list(node.materials)
    mats = [ctx.state.materials[m] for m in ids[offset : offset + limit]]
    return {
        "MaterialTotalCount": len(ids),
        "MaterialInfoSet": [material_summary(ctx.state, m) for m in mats],
        "ClassInfoSet": [
            ctx.state.class_json(c, ctx.platform)
            for c in ctx.state.descendants(node, one_level=True)
        ],
    }


def describe_materials(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    ids = strings(body, "MaterialIds", required=True)
    flt = obj(body, "FilterInfo") or {}
    sprites = boolean(flt, "NeedImageSpriteInfo")
    field, desc = sort_spec(body, ("CreateTime", "UpdateTime"))
    found: list[Material] = []
    failed: list[JSON] = []
    for mid in dict.fromkeys(ids):
        try:
            found.append(st.user_material(ctx.user_id, mid))
        except Fault as fault:
            failed.append(
                {
                    "MaterialId": mid,
                    "ErrorInfo": {
                        "Code": fault.code,
                        "Message": fault.message,
                        "EnglishMessage": fault.english,
                    },
                }
            )
    if "Sort" in body:
        found.sort(
            key=lambda m: m.create_time if field == "CreateTime" else m.update_time, reverse=desc
        )
    return {
        "MaterialInfoSet": [material_detail(st, m, sprites=sprites) for m in found],
        "FailedMaterialInfoSet": failed,
    }


def _search(
    ctx: Ctx, body: Mapping[str, Any], pool: Iterable[Material], *, tags_filter: bool
) -> JSON:
    types = strings(body, "MaterialTypes")
    query = text(body, "Text")
    resolutions = strings(body, "Resolutions")
    preset = strings(body, "PresetTagIds")
    tags = strings(body, "Tags") if tags_filter else []
    duration = obj(body, "DurationRange")
    created = obj(body, "CreateTimeRange")
    _, desc = sort_spec(body, ("CreateTime",))
    offset, limit = offset_limit(ctx, body)
    lo = integer(duration, "LowerBound") if duration else None
    hi = integer(duration, "UpperBound") if duration else None
    t0 = _time(created, "StartTime") if created else None
    t1 = _time(created, "EndTime") if created else None
    if t0 is not None and t1 is not None and t0 > t1:
        raise invalid("CreateTimeRange", "starttime bigger than endtime")
    needle = query.lower() if query else None
    hits: list[Material] = []
    for m in pool:
        if types and m.material_type not in types:
            continue
        if needle and needle not in m.name.lower():
            continue
        if resolutions and m.resolution not in resolutions:
            continue
        if preset and not set(preset) & set(m.preset_tag_ids):
            continue
        if tags and not set(tags) & set(m.tags):
            continue
        if (lo is not None and m.duration < lo) or (hi is not None and m.duration > hi):
            continue
        if (t0 is not None and m.create_time < t0) or (t1 is not None and m.create_time > t1):
            continue
        hits.append(m)
    hits.sort(key=lambda m: (m.create_time, m.material_id), reverse=desc)
    if needle:  # by relevance: exact name, then prefix, then anywhere (stable on time)
        hits.sort(
            key=lambda m: (
                0 if m.name.lower() == needle else 1 if m.name.lower().startswith(needle) else 2
            )
        )
    return {
        "TotalCount": len(hits),
        "MaterialInfoSet": [material_summary(ctx.state, m) for m in hits[offset : offset + limit]],
    }


def _time(rng: Mapping[str, Any], key: str) -> float | None:
    raw = text(rng, key)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid(f"CreateTimeRange.{key}", f"not an ISO 8601 time: {raw!r}") from None


def search_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    scopes = objects(body, "SearchScopes", required=True)
    seen: dict[str, Material] = {}
    for n, scope in enumerate(scopes):
        ctx.check_platform(scope)
        owner = entity(scope, "Owner")
        try:
            class_id = integer(scope, "ClassId")
        except Fault:
            raise invalid(f"SearchScopes[{n}].ClassId", "expected a class id") from None
        node = st.user_class(ctx.user_id, class_id, owner) if class_id is not None else None
        if node is None:
            st.check_owner(ctx.user_id, owner)
            node = st.root(owner)
        nodes = [node] if boolean(scope, "SearchOneDepth") else [node, *st.descendants(node)]
        for c in nodes:
            for mid in c.materials:
                seen[mid] = st.materials[mid]
    return _search(ctx, body, seen.values(), tags_filter=True)


def search_shared_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    authorizer = entity(body, "Authorizer")
    authorizee = entity(body, "Authorizee")
    st.check_owner(ctx.user_id, authorizee)
    pool: dict[str, Material] = {}
    for share in st.shares:
        if share.authorizer != authorizer or share.authorizee != authorizee:
            continue
        for mid in share.material_ids:
            if mid in st.materials:
                pool[mid] = st.materials[mid]
        for cid in share.class_ids:
            node = st.classes.get(cid)
            if node is None:
                continue
            for c in [node, *st.descendants(node)]:
                for mid in c.materials:
                    pool[mid] = st.materials[mid]
    return _search(ctx, body, pool.values(), tags_filter=False)


def process_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    material = ctx.state.user_material(ctx.user_id, need_text(body, "MaterialId"))
    # Documented as required, but both documented examples omit it: default to all AI tasks
    # (its documented values were checked against the catalogue before the handler ran).
    definition = integer(body, "Definition", 20)
    assert definition is not None
    if material.material_type not in ("VIDEO", "AUDIO"):
        raise Fault("InvalidParameterValue.MaterialId", "material type not support processing")
    task = ctx.state.start_task(ctx.user_id, material, definition)
    return {"TaskId": task.task_id}


# ---- classes -------------------------------------------------------------------


def create_class(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    owner = entity(body, "Owner")
    parent = ctx.state.user_class(ctx.user_id, need_int(body, "ParentClassId"), owner)
    node = ctx.state.create_class(parent, need_text(body, "Name"))
    return {"ClassId": node.class_id}


def delete_class(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    node = ctx.state.user_class(ctx.user_id, need_int(body, "ClassId"))
    ctx.state.delete_class(node)
    return None


def describe_class(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    ctx.check_platform(body)
    owner = entity(body, "Owner")
    st.check_owner(ctx.user_id, owner)
    base_id = integer(body, "BaseClassId", -1)
    first_level = boolean(body, "FirstLevel")
    out: JSON = {}
    if base_id == -1:
        root = st.root(owner)
        nodes = [root] if first_level else [root, *st.descendants(root)]
    else:
        assert base_id is not None
        base = st.user_class(ctx.user_id, base_id, owner)
        nodes = st.descendants(base, one_level=first_level)
        out["PathInfoSet"] = [st.class_json(c, ctx.platform) for c in st.ancestors(base)]
    out["ClassInfoSet"] = [st.class_json(c, ctx.platform) for c in nodes]
    return out


def modify_class(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    owner = entity(body, "Owner")
    node = st.user_class(ctx.user_id, need_int(body, "ClassId"), owner)
    name = text(body, "Name")
    parent_id = integer(body, "ParentClassId")
    parent = None if parent_id is None else st.user_class(ctx.user_id, parent_id, owner)
    st.modify_class(node, name, parent)
    return None


# ---- upload ----------------------------------------------------------------------


def create_upload_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    owner: OwnerKey = entity(body, "Owner")
    node = ctx.state.user_class(ctx.user_id, need_int(body, "ClassId"), owner)
    kind = need_text(body, "MaterialType")
    name = need_text(body, "Name")
    text(body, "VerifySign")
    context = secrets.token_urlsafe(24)
    ctx.state.uploads[context] = Upload(
        context, ctx.user_id, owner, node.class_id, kind, name, ctx.state.clock()
    )
    sign = base64.b64encode(f"fake-vod-upload:{context}".encode()).decode()
    return {"UploadContext": context, "VodUploadSign": sign}


def finish_upload_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    context = need_text(body, "UploadContext")
    vod_file_id = need_text(body, "VodFileId")
    upload = st.uploads.get(context)
    if upload is None or upload.user_id != ctx.user_id:
        raise Fault("InvalidParameterValue.UploadContext")
    node = st.classes.get(upload.class_id)
    if node is None:
        raise Fault("InvalidParameterValue.ClassNotExist")
    del st.uploads[context]
    now = st.clock()
    video = upload.material_type in ("VIDEO", "EFFECT_VIDEO")
    material = Material(
        st.new_material_id(),
        upload.owner,
        node.class_id,
        upload.material_type,
        upload.name,
        now,
        now,
        vod_file_id=vod_file_id,
        duration=30.0 if video or upload.material_type == "AUDIO" else 0.0,
        width=1920 if upload.material_type != "AUDIO" else 0,
        height=1080 if upload.material_type != "AUDIO" else 0,
        size=8_000_000,
        resolution="FHD" if upload.material_type != "AUDIO" else None,
    )
    st.add_material(material)
    return {"MaterialId": material.material_id}


HANDLERS: dict[str, Handler] = {
    "Material/DeleteMaterial": delete_material,
    "Material/ModifyMaterial": modify_material,
    "Material/ListMedia": list_media,
    "Material/DescribeMaterials": describe_materials,
    "Material/SearchMaterial": search_material,
    "Material/SearchSharedMaterial": search_shared_material,
    "Material/ProcessMaterial": process_material,
    "Material/CreateClass": create_class,
    "Material/DeleteClass": delete_class,
    "Material/DescribeClass": describe_class,
    "Material/ModifyClass": modify_class,
    "Material/CreateUploadMaterial": create_upload_material,
    "Material/FinishUploadMaterial": finish_upload_material,
}
