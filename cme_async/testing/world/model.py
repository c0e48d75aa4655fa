"""Records the emulator keeps, and how each renders to its documented wire shape."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# (Type, Id), e.g. ("PERSON", "demo_user") or ("TEAM", "cmetid_...").
OwnerKey = tuple[str, str]
JSON = dict[str, Any]

MEDIA_HOST = "https://vod.cme-fake.invalid"


def iso(ts: float) -> str:
    """ISO 8601 UTC with a ``Z``, as the service writes ``CreateTime``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def owner_json(owner: OwnerKey) -> JSON:
    return {"Type": owner[0], "Id": owner[1]}


@dataclass(slots=True)
class ClassNode:
    class_id: int
    owner: OwnerKey
    name: str
    parent_id: int  # -1 for an owner's root class
    children: list[int] = field(default_factory=list)
    # Insertion-ordered set of the material ids filed directly in this class.
    materials: dict[str, None] = field(default_factory=dict)


@dataclass(slots=True)
class AIResult:
    """One kind of AI result of a material (frame tags, faces, subtitles, texts, objects)."""

    version: str
    items: list[JSON] = field(default_factory=list)
    manual_ids: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Material:
    material_id: str
    owner: OwnerKey
    class_id: int
    material_type: str
    name: str
    create_time: float
    update_time: float
    tags: list[str] = field(default_factory=list)
    preset_tag_ids: list[str] = field(default_factory=list)
    duration: float = 0.0
    width: int = 0
    height: int = 0
    size: int = 0
    resolution: str | None = None
    vod_file_id: str = ""
    transcode_status: str = "NORMAL"
    # "frame" | "face" | "subtitle" | "text" | "object" -> result
    ai: dict[str, AIResult] = field(default_factory=dict)

    def media_url(self) -> str:
        ext = {"VIDEO": "mp4", "AUDIO": "mp3", "IMAGE": "jpg"}.get(self.material_type, "bin")
        return f"{MEDIA_HOST}/{self.vod_file_id}/media.{ext}"

    def preview_url(self) -> str:
        return f"{MEDIA_HOST}/{self.vod_file_id}/coverBySnapshot/coverBySnapshot_10_0.jpg"


@dataclass(slots=True)
class Project:
    project_id: str
    owner: OwnerKey
    name: str
    category: str
    create_time: float
    update_time: float
    description: str = ""
    wh_ratio: str = "16:9"
    cover_url: str = ""
    cover_source: str = "DEFAULT"
    fusion_data: str = "[]"
    version: int = 1
    material_ids: list[str] = field(default_factory=list)

    def basic_json(self) -> JSON:
        return {
            "ProjectId": self.project_id,
            "Owner": owner_json(self.owner),
            "Category": self.category,
            "Name": self.name,
            "WHRatio": self.wh_ratio,
            "CoverUrl": self.cover_url,
            "CoverSource": self.cover_source,
            "CreateTime": iso(self.create_time),
            "UpdateTime": iso(self.update_time),
        }

    def info_json(self) -> JSON:
        out = self.basic_json()
        out["Description"] = self.description
        out["FusionData"] = self.fusion_data
        out["Version"] = self.version
        return out


@dataclass(slots=True)
class Team:
    team_id: str
    name: str
    create_time: float
    update_time: float
    members: dict[str, str] = field(default_factory=dict)  # user id -> Owner/Admin/Member

    def info_json(self) -> JSON:
        return {
            "TeamId": self.team_id,
            "Name": self.name,
            "MemberCount": len(self.members),
            "CreateTime": iso(self.create_time),
            "UpdateTime": iso(self.update_time),
        }


@dataclass(slots=True)
class Task:
    task_id: str
    user_id: str
    task_type: str
    create_time: float
    duration: float  # seconds from creation to SUCCESS
    status: str = "PROCESSING"
    progress: int = 0
    material_id: str | None = None
    project_id: str | None = None
    definition: int | None = None

    def info_json(self) -> JSON:
        return {
            "TaskId": self.task_id,
            "TaskType": self.task_type,
            "Status": self.status,
            "Progress": self.progress,
            "CreateTime": iso(self.create_time),
        }


@dataclass(slots=True)
class Upload:
    context: str
    user_id: str
    owner: OwnerKey
    class_id: int
    material_type: str
    name: str
    create_time: float


@dataclass(slots=True)
class Share:
    authorizer: OwnerKey
    authorizee: OwnerKey
    class_ids: set[int] = field(default_factory=set)
    material_ids: set[str] = field(default_factory=set)
