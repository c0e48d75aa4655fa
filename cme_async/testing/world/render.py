"""How a material renders to its documented wire shapes (list entries and details)."""

from __future__ import annotations

from .model import JSON, MEDIA_HOST, Material, iso, owner_json
from .state import PRESET_TAGS, State


def basic_info(state: State, m: Material) -> JSON:
    return {
        "MaterialId": m.material_id,
        "MaterialType": m.material_type,
        "Name": m.name,
        "ClassPath": state.class_path(state.classes[m.class_id]),
        "CreateTime": iso(m.create_time),
        "UpdateTime": iso(m.update_time),
        "TagInfoSet": [
            {
                "Type": "Preset",
                "Id": t,
                "Name": PRESET_TAGS[t][0],
                "ParentId": PRESET_TAGS[t][1],
            }
            for t in m.preset_tag_ids
            if t in PRESET_TAGS
        ],
        "TagSet": list(m.tags),
        "PreviewUrl": m.preview_url(),
        "MediaUrl": m.media_url(),
        "Owner": owner_json(m.owner),
    }


def material_summary(state: State, m: Material) -> JSON:
    """The shape list and search answers use (their examples: BasicInfo + MaterialStatus)."""
    return {
        "BasicInfo": basic_info(state, m),
        "MaterialStatus": {"TranscodeStatus": m.transcode_status},
    }


def material_detail(state: State, m: Material, *, sprites: bool = False) -> JSON:
    out = material_summary(state, m)
    out["MediaInfo"] = {
        "Width": m.width,
        "Height": m.height,
        "Size": m.size,
        "Duration": m.duration,
        "MediaType": m.material_type,
    }
    meta: JSON = {
        "Size": m.size,
        "Container": "mov,mp4,m4a,3gp,3g2,mj2",
        "Bitrate": int(m.size * 8 / m.duration) if m.duration else 0,
        "Height": m.height,
        "Width": m.width,
        "Duration": m.duration,
        "Rotate": 0,
    }
    if m.material_type == "VIDEO":
        video: JSON = {
            "MetaData": meta,
            "MaterialUrl": m.media_url(),
            "CoverUrl": m.preview_url(),
            "Resolution": m.resolution,
            "OriginalUrl": m.media_url(),
        }
        if sprites:
            count = max(1, int(m.duration))
            video["ImageSpriteInfo"] = {
                "Height": 80,
                "Width": 142,
                "TotalCount": count,
                "WebVttUrl": f"{MEDIA_HOST}/{m.vod_file_id}/imageSprite/imageSprite.vtt",
                "ImageUrlSet": [f"{MEDIA_HOST}/{m.vod_file_id}/imageSprite/imageSprite_0.jpg"],
            }
        out["VideoMaterial"] = video
    elif m.material_type == "AUDIO":
        out["AudioMaterial"] = {"MetaData": meta, "MaterialUrl": m.media_url()}
    elif m.material_type == "IMAGE":
        out["ImageMaterial"] = {
            "Height": m.height,
            "Width": m.width,
            "Size": m.size,
            "MaterialUrl": m.media_url(),
            "Resolution": m.resolution,
        }
    return out
