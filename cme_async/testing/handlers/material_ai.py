"""Material AI-result actions ("媒体物料"): frame tags, faces, subtitles, texts, objects.

Results exist once a ``ProcessMaterial`` task has finished (or from seed data);
before that every query answers ``ResourceNotFound`` with the documented
``no … index`` message.  Subtitle, text and frame-tag queries page by time
window: ``LastTimeOffset`` is where the next query starts, ``-1`` at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._faults import Fault
from ..world.model import JSON, AIResult, Material
from ..world.state import window
from ._common import Ctx, Handler
from ._read import boolean, need_text, number, strings

_INDEX = {"frame": "frameTag", "face": "face", "subtitle": "asr", "text": "ocr", "object": "object"}


def _result(ctx: Ctx, material: Material, kind: str) -> AIResult:
    found = ctx.state.ai_result(material, kind)
    if found is None or (kind == "frame" and not found.items):
        raise Fault("ResourceNotFound", f"resource not found : no {_INDEX[kind]} index")
    return found


def _material(ctx: Ctx, body: Mapping[str, Any]) -> Material:
    return ctx.state.user_material(ctx.user_id, need_text(body, "MaterialId"))


def _span(body: Mapping[str, Any]) -> tuple[float, float]:
    start = number(body, "StartTimeOffset", required=True)
    end = number(body, "EndTimeOffset", required=True)
    assert start is not None and end is not None
    if start > end:
        raise Fault("InvalidParameterValue", "starttime bigger than endtime")
    return start, end


def _windowed(
    ctx: Ctx, body: Mapping[str, Any], kind: str, key: str, set_key: str, only_manual: bool = False
) -> JSON:
    material = _material(ctx, body)
    start, end = _span(body)
    result = _result(ctx, material, kind)
    items = result.items
    if only_manual:
        items = [i for i in items if i["ItemId"] in result.manual_ids]
    chosen, last = window(items, start, end, ctx.ai_page_size)
    return {key: {"Version": result.version, set_key: chosen, "LastTimeOffset": last}}


def add_material_frame_tag(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    st = ctx.state
    material = _material(ctx, body)
    start, end = _span(body)
    tags = strings(body, "Tags", required=True)
    version = need_text(body, "Version")
    current = st.ai_result(material, "frame")
    if version != "manual" and (current is None or current.version != version):
        raise Fault("InvalidParameterValue", "frame tag version not match")
    if current is None:
        current = material.ai["frame"] = AIResult("manual")
    item_id = st.hex_id(24)
    current.items.append(
        {"ItemId": item_id, "StartTimeOffset": start, "EndTimeOffset": end, "Tags": list(tags)}
    )
    current.items.sort(key=lambda i: float(i["StartTimeOffset"]))
    current.manual_ids.add(item_id)
    return {"ItemId": item_id}


def _frame_item(ctx: Ctx, body: Mapping[str, Any]) -> tuple[AIResult, JSON]:
    material = _material(ctx, body)
    item_id = need_text(body, "ItemId")
    result = _result(ctx, material, "frame")
    for item in result.items:
        if item["ItemId"] == item_id:
            return result, item
    raise Fault("ResourceNotFound", f"resource not found : no frameTag item {item_id}")


def _check_version(result: AIResult, version: str | None) -> None:
    if version is not None and version not in ("manual", result.version):
        raise Fault("InvalidParameterValue", "frame tag version not match")


def modify_material_frame_tag(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    tags = strings(body, "Tags", required=True)
    version = need_text(body, "Version")
    result, item = _frame_item(ctx, body)
    _check_version(result, version)
    item["Tags"] = list(tags)
    result.manual_ids.add(item["ItemId"])
    return None


def delete_material_frame_tag(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    # The live page adds ItemId and Version; the older one only has MaterialId and
    # removes every frame tag of the media.  Both are accepted.
    if body.get("ItemId") is None:
        material = _material(ctx, body)
        result = _result(ctx, material, "frame")
        result.items.clear()
        result.manual_ids.clear()
        return None
    result, item = _frame_item(ctx, body)
    _check_version(result, body.get("Version") if isinstance(body.get("Version"), str) else None)
    result.items.remove(item)
    result.manual_ids.discard(item["ItemId"])
    return None


def describe_material_frame_tag(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    only_manual = boolean(body, "OnlyManual")
    return _windowed(ctx, body, "frame", "FrameTagInfo", "FrameTagSet", only_manual)


def describe_material_subtitle(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    return _windowed(ctx, body, "subtitle", "SubtitleInfo", "SubtitleSet")


def describe_text_in_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    return _windowed(ctx, body, "text", "TextInfo", "TextSet")


def describe_face_in_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    result = _result(ctx, _material(ctx, body), "face")
    return {"FaceInfo": {"Version": result.version, "FaceSet": result.items}}


def describe_object_in_material(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    result = _result(ctx, _material(ctx, body), "object")
    return {"ObjectInfo": {"Version": result.version, "ObjectSet": result.items}}


HANDLERS: dict[str, Handler] = {
    "Material/AddMaterialFrameTag": add_material_frame_tag,
    "Material/ModifyMaterialFrameTag": modify_material_frame_tag,
    "Material/DeleteMaterialFrameTag": delete_material_frame_tag,
    "Material/DescribeMaterialFrameTag": describe_material_frame_tag,
    "Material/DescribeMaterialSubtitle": describe_material_subtitle,
    "Material/DescribeTextInMaterial": describe_text_in_material,
    "Material/DescribeFaceInMaterial": describe_face_in_material,
    "Material/DescribeObjectInMaterial": describe_object_in_material,
}
