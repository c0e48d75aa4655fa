"""The fixed answers the benchmark targets serve, built from the documented examples.

Every target (nginx or the aiohttp fallback) serves exactly these bytes, so every
contender parses the same answers:

* ``login``: ``GET /`` (the login exchange), the current ``{"Response": {...}}`` shape.
* ``small``: ``POST /PaaS/Material/DeleteMaterial``, the success envelope without ``Data``.
* ``large``: ``POST /PaaS/Material/SearchMaterial``, ``TotalCount`` and 50 full
  ``MaterialInfo`` items (basic info, media info, status and video material, taken from
  the ``DescribeMaterials`` example of the reference catalogue), each with its own id.
* ``describe``: ``POST /PaaS/Material/DescribeMaterials``, ``MaterialInfoSet`` with
  ``DESCRIBE_ITEMS`` items; ``vendor``: the server API's ``DescribeMaterials`` answer
  (``{"Response": {"MaterialInfoSet": [...], "TotalCount": n, "RequestId": ...}}``) with the
  same items, for ``tencentcloud-sdk-python`` (``POST /`` with ``X-TC-Action``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

SEARCH_ITEMS = 50
DESCRIBE_ITEMS = 10

LOGIN_JSON: dict[str, Any] = {
    "Response": {
        "AppId": 1,
        "Authorization": "tf_bench",
        "Platform": "1",
        "RequestId": "r",
        "TfUid": "u",
    }
}

_OK = {"Code": "Success", "Message": "成功", "EnglishMessage": "success"}

# One full MaterialInfo (the DescribeMaterials example of the client API reference,
# cme-client-actions.json), with the key the typed model documents.
_MATERIAL: dict[str, Any] = {
    "MaterialBasicInfo": {
        "MaterialId": "38192156030633420589",
        "MaterialType": "VIDEO",
        "Name": "脱口秀",
        "CreateTime": "2020-12-14T09:05:08Z",
        "UpdateTime": "2020-12-14T09:05:08Z",
        "ClassPath": "/个人/视频",
        "TagSet": ["综艺", "脱口秀"],
        "PreviewUrl": "https://cme.vod2.myqcloud.com/181000xxxx/8d388657vodtranscq181000xxxx/"
        "9be0dda85285890811308550195/coverBySnapshot/coverBySnapshot_10_0.jpg",
        "MediaUrl": "https://cme.vod2.myqcloud.com/181000xxxx/b64e98afvodcq181000xxxx/"
        "9be0dda85285890811308550195/ixbEocVHT1oA.mp4?t=5fdf14b4&whref=yunjian.qq.com"
        "&sign=ce15ca0558bebe775974e2821728xxxx",
        "Owner": {"Id": "ce4cdaf6-6039-486b-8f09-a5df23xxxxxx", "Type": "PERSON"},
    },
    "MediaInfo": {
        "Width": 1980,
        "Height": 1080,
        "Size": 167287626,
        "Duration": 1873.50202,
        "MediaType": "VIDEO",
    },
    "MaterialStatus": {"TranscodeStatus": "NORMAL"},
    "VideoMaterial": {
        "MetaData": {
            "AudioStreamInfoSet": [{"Bitrate": 95999, "Codec": "aac", "SamplingRate": 44100}],
            "VideoStreamInfoSet": [
                {"Bitrate": 615845, "Codec": "h264", "Fps": 30, "Width": 1980, "Height": 1080}
            ],
            "Bitrate": 711844,
            "Container": "mov,mp4,m4a,3gp,3g2,mj2",
            "Duration": 1873.50202,
            "Width": 1980,
            "Height": 1080,
            "Size": 167287626,
            "Rotate": 0,
        },
        "ImageSpriteInfo": {
            "Height": 80,
            "Width": 142,
            "TotalCount": 1874,
            "WebVttUrl": "https://181000xxxx.vod2.myqcloud.com/8d388657vodtranscq181000xxxx/"
            "9be0dda85285890811308550195/imageSprite/imageSprite_20056.vtt",
            "ImageUrlSet": [
                "https://181000xxxx.vod2.myqcloud.com/8d388657vodtranscq181000xxxx/"
                "9be0dda85285890811308550195/imageSprite/imageSprite_20056_0.jpg",
                "https://181000xxxx.vod2.myqcloud.com/8d388657vodtranscq181000xxxx/"
                "9be0dda85285890811308550195/imageSprite/imageSprite_20056_1.jpg",
            ],
        },
        "MaterialUrl": "https://cme.vod2.myqcloud.com/181000xxxx/b64e98afvodcq181000xxxx/"
        "9be0dda85285890811308550195/ixbEocVHT1oA.mp4?t=5fdf14b4&whref=yunjian.qq.com"
        "&sign=ce15ca0558bebe775974e2821728xxxx",
        "CoverUrl": "https://cme.vod2.myqcloud.com/181000xxxx/8d388657vodtranscq181000xxxx/"
        "9be0dda85285890811308550195/coverBySnapshot/coverBySnapshot_10_0.jpg",
        "Resolution": "FHD",
        "OriginalUrl": "https://181000xxxx.vod2.myqcloud.com/b64e98afvodcq181000xxxx/"
        "9be0dda85285890811308550195/ixbEocVHT1oA.mp4",
    },
}


def materials(count: int) -> list[dict[str, Any]]:
    items = []
    for i in range(count):
        item = copy.deepcopy(_MATERIAL)
        item["MaterialBasicInfo"]["MaterialId"] = f"{38192156030633420589 + i}"
        item["MaterialBasicInfo"]["Name"] = f"脱口秀 {i:03d}"
        items.append(item)
    return items


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def build() -> dict[str, bytes]:
    """name → exact response bytes."""
    return {
        "login": _dump(LOGIN_JSON),
        "small": _dump(_OK),
        "large": _dump(
            {
                **_OK,
                "Data": {"TotalCount": SEARCH_ITEMS, "MaterialInfoSet": materials(SEARCH_ITEMS)},
            }
        ),
        "describe": _dump({**_OK, "Data": {"MaterialInfoSet": materials(DESCRIBE_ITEMS)}}),
        "vendor": _dump(
            {
                "Response": {
                    "MaterialInfoSet": materials(DESCRIBE_ITEMS),
                    "FailedMaterialInfoSet": [],
                    "RequestId": "00000000-0000-0000-0000-000000000000",
                }
            }
        ),
        "error": _dump(
            {
                "Response": {
                    "Error": {"Code": "InvalidAction", "Message": "unknown path"},
                    "RequestId": "r",
                }
            }
        ),
    }


# path (POST unless noted) → body name
ROUTES = {
    "/PaaS/Material/DeleteMaterial": "small",
    "/PaaS/Material/SearchMaterial": "large",
    "/PaaS/Material/DescribeMaterials": "describe",
}
