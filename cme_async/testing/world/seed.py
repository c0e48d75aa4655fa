"""Seed data: the loader (dict or JSON file) and the demo library of ``FakeCme.seeded()``.

Seed format (every key optional; times are ISO 8601, owners are ``Entity`` objects)::

    {"teams":     [{"TeamId", "Name", "Members": {"<user id>": "Owner|Member"}, "CreateTime"}],
     "classes":   [{"Owner", "ClassPath": "/个人/视频/综艺"}],
     "materials": [{"MaterialId", "Owner", "ClassPath", "MaterialType", "Name", "Tags",
                    "PresetTagIds", "CreateTime", "Duration", "Width", "Height", "Size",
                    "Resolution", "VodFileId", "Processed": true}],
     "projects":  [{"ProjectId", "Owner", "Name", "Category", "WHRatio", "Description",
                    "MaterialIds", "CreateTime"}],
     "tasks":     [{"TaskId", "UserId", "TaskType", "Status", "Progress", "ProjectId", "MaterialId",
                    "CreateTime"}],
     "shares":    [{"Authorizer", "Authorizee", "ClassPaths", "MaterialIds"}]}
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .ai import write_ai_result
from .model import JSON, Material, OwnerKey, Project, Share, Task, Team
from .state import AI_KINDS, State

DEMO_SECRET_ID = "AKIDcmeFakeDemoSecretId000000000000"
DEMO_SECRET_KEY = "cmeFakeDemoSecretKey0000000000000"
DEMO_PLATFORM = "1000000009"
DEMO_USER_ID = "demo_user"
DEMO_FRIEND_ID = "demo_friend"
DEMO_TEAM_ID = "cmetid_5fd977677a23b40001ca3aff0"


def _ts(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _owner(value: Mapping[str, Any]) -> OwnerKey:
    return (str(value["Type"]), str(value["Id"]))


# The seed format: per section, (required keys, optional keys).
_SEED_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "teams": (frozenset({"TeamId", "Name"}), frozenset({"CreateTime", "UpdateTime", "Members"})),
    "classes": (frozenset({"Owner", "ClassPath"}), frozenset()),
    "materials": (
        frozenset({"Owner", "Name"}),
        frozenset(
            {"MaterialId", "ClassPath", "MaterialType", "Tags", "PresetTagIds", "CreateTime"}
            | {"UpdateTime", "Duration", "Width", "Height", "Size", "Resolution", "VodFileId"}
            | {"TranscodeStatus", "Processed"}
        ),
    ),
    "projects": (
        frozenset({"ProjectId", "Owner", "Name"}),
        frozenset(
            {"Category", "CreateTime", "UpdateTime", "Description", "WHRatio", "CoverUrl"}
            | {"CoverSource", "FusionData", "Version", "MaterialIds"}
        ),
    ),
    "tasks": (
        frozenset({"TaskId", "UserId"}),
        frozenset({"TaskType", "CreateTime", "Status", "Progress", "MaterialId", "ProjectId"}),
    ),
    "shares": (frozenset({"Authorizer", "Authorizee"}), frozenset({"MaterialIds", "ClassPaths"})),
}


def check_seed(data: Any) -> None:
    """Refuse a seed this loader would misread: a misspelt section or key would otherwise
    be skipped and leave the world without the records a test relies on."""
    if not isinstance(data, Mapping):
        raise TypeError(f"seed: expected a JSON object, got {type(data).__name__}")
    for section, records in data.items():
        if section not in _SEED_KEYS:
            raise ValueError(f"seed: unknown section {section!r} (known: {', '.join(_SEED_KEYS)})")
        if not isinstance(records, list):
            raise TypeError(f"seed: {section} must be a list, got {type(records).__name__}")
        required, optional = _SEED_KEYS[section]
        for n, record in enumerate(records):
            where = f"seed: {section}[{n}]"
            if not isinstance(record, Mapping):
                raise TypeError(f"{where}: expected an object, got {type(record).__name__}")
            problems = [f"missing {k!r}" for k in sorted(required - record.keys())]
            problems += [f"unknown key {k!r}" for k in sorted(set(record) - required - optional)]
            if problems:
                known = ", ".join(sorted(required | optional))
                raise ValueError(f"{where}: {'; '.join(problems)} (known keys: {known})")


def load_seed(state: State, data: Mapping[str, Any] | str | os.PathLike[str]) -> None:
    """Add the records of ``data`` (a dict or a path to a JSON file) to ``state``; the
    whole seed is checked first, so a refused seed adds nothing."""
    if not isinstance(data, Mapping):
        data = json.loads(Path(data).read_text(encoding="utf-8"))
    check_seed(data)
    assert isinstance(data, Mapping)
    now = state.clock()
    for t in data.get("teams", ()):
        created = _ts(t.get("CreateTime"), now)
        state.teams[t["TeamId"]] = Team(
            t["TeamId"],
            t["Name"],
            created,
            _ts(t.get("UpdateTime"), created),
            dict(t.get("Members", {})),
        )
    for c in data.get("classes", ()):
        state.ensure_path(_owner(c["Owner"]), c["ClassPath"])
    for m in data.get("materials", ()):
        owner = _owner(m["Owner"])
        node = state.ensure_path(owner, m.get("ClassPath", "/"))
        created = _ts(m.get("CreateTime"), now)
        kind = m.get("MaterialType", "VIDEO")
        material = Material(
            m.get("MaterialId") or state.new_material_id(),
            owner,
            node.class_id,
            kind,
            m["Name"],
            created,
            _ts(m.get("UpdateTime"), created),
            tags=list(m.get("Tags", [])),
            preset_tag_ids=list(m.get("PresetTagIds", [])),
            duration=float(m.get("Duration", 0.0)),
            width=int(m.get("Width", 0)),
            height=int(m.get("Height", 0)),
            size=int(m.get("Size", 0)),
            resolution=m.get("Resolution"),
            vod_file_id=m.get("VodFileId") or state.hex_id(19),
            transcode_status=m.get("TranscodeStatus", "NORMAL"),
        )
        state.add_material(material)
        if m.get("Processed"):
            for ai_kind in AI_KINDS:
                write_ai_result(state, material, ai_kind)
    for p in data.get("projects", ()):
        created = _ts(p.get("CreateTime"), now)
        state.projects[p["ProjectId"]] = Project(
            p["ProjectId"],
            _owner(p["Owner"]),
            p["Name"],
            p.get("Category", "Default"),
            created,
            _ts(p.get("UpdateTime"), created),
            description=p.get("Description", ""),
            wh_ratio=p.get("WHRatio", "16:9"),
            cover_url=p.get("CoverUrl", ""),
            cover_source=p.get("CoverSource", "DEFAULT"),
            fusion_data=p.get("FusionData", "[]"),
            version=int(p.get("Version", 1)),
            material_ids=list(p.get("MaterialIds", [])),
        )
    for t in data.get("tasks", ()):
        task = Task(
            t["TaskId"],
            t["UserId"],
            t.get("TaskType", "VIDEO_EDIT_PROJECT_EXPORT"),
            _ts(t.get("CreateTime"), now),
            0.0,
            status=t.get("Status", "SUCCESS"),
            progress=int(t.get("Progress", 100)),
            material_id=t.get("MaterialId"),
            project_id=t.get("ProjectId"),
        )
        state.tasks[task.task_id] = task
    for s in data.get("shares", ()):
        share = Share(
            _owner(s["Authorizer"]),
            _owner(s["Authorizee"]),
            material_ids=set(s.get("MaterialIds", [])),
        )
        for path in s.get("ClassPaths", ()):
            share.class_ids.add(state.ensure_path(share.authorizer, path).class_id)
        state.shares.append(share)


_VIDEO_NAMES = [
    "脱口秀",
    "城市夜景",
    "新闻联播片段",
    "美食探店",
    "旅行vlog",
    "篮球集锦",
    "产品发布会",
    "访谈节目",
    "航拍风光",
    "猫咪日常",
]
_AUDIO_NAMES = ["背景音乐", "片头配乐", "采访录音", "环境音效"]
_IMAGE_NAMES = ["封面图", "海报", "产品照片", "人物写真"]
_TAGS = ["综艺", "新闻", "美食", "旅行", "体育", "科技", "萌宠", "风景", "访谈", "城市"]


def demo_seed() -> JSON:
    """A small, realistic library for ``DEMO_USER_ID`` (deterministic)."""
    rng = random.Random(20201214)
    me = {"Type": "PERSON", "Id": DEMO_USER_ID}
    friend = {"Type": "PERSON", "Id": DEMO_FRIEND_ID}
    team = {"Type": "TEAM", "Id": DEMO_TEAM_ID}
    t0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()

    def when(n: int) -> str:
        return datetime.fromtimestamp(t0 + n * 86400 * 7 + rng.randint(0, 80000), UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )

    materials: list[JSON] = []

    def add(owner: JSON, path: str, kind: str, name: str, n: int, **extra: Any) -> str:
        mid = str(38192156030633420000 + len(materials) * 7919)
        duration = (
            0.0 if kind == "IMAGE" else round(rng.uniform(15, 1800 if kind == "VIDEO" else 300), 2)
        )
        width, height = (
            (0, 0) if kind == "AUDIO" else rng.choice([(1920, 1080), (1280, 720), (3840, 2160)])
        )
        resolution = {1920: "FHD", 1280: "HD", 3840: "4K", 0: None}[width]
        materials.append(
            {
                "MaterialId": mid,
                "Owner": owner,
                "ClassPath": path,
                "MaterialType": kind,
                "Name": name,
                "Tags": rng.sample(_TAGS, rng.randint(0, 3)),
                "CreateTime": when(n),
                "Duration": duration,
                "Width": width,
                "Height": height,
                "Size": rng.randint(10**5, 5 * 10**8),
                "Resolution": resolution,
                "VodFileId": str(5285890811000000000 + len(materials)),
                **extra,
            }
        )
        return mid

    n = 0
    for i in range(24):
        folder = ["/个人/视频", "/个人/视频/综艺", "/个人/视频/新闻"][i % 3]
        add(
            me,
            folder,
            "VIDEO",
            f"{_VIDEO_NAMES[i % len(_VIDEO_NAMES)]} 第{i // len(_VIDEO_NAMES) + 1}期",
            n,
            Processed=i % 4 == 0,
            PresetTagIds=["1001"] if i % 5 == 0 else [],
        )
        n += 1
    for i in range(8):
        add(me, "/个人/音频", "AUDIO", f"{_AUDIO_NAMES[i % len(_AUDIO_NAMES)]} {i + 1}", n)
        n += 1
    for i in range(8):
        add(me, "/个人/图片", "IMAGE", f"{_IMAGE_NAMES[i % len(_IMAGE_NAMES)]} {i + 1}", n)
        n += 1
    team_ids = [add(team, "/素材", "VIDEO", f"团队素材 {i + 1}", n + i) for i in range(6)]
    shared = [
        add(friend, "/个人/分享", "VIDEO", f"朋友分享的{name}", n + i)
        for i, name in enumerate(["脱口秀", "风景", "新闻", "美食"])
    ]
    mine = [m["MaterialId"] for m in materials if m["Owner"] == me and m["MaterialType"] == "VIDEO"]

    def project(i: int, owner: JSON, name: str, category: str, ids: list[str]) -> JSON:
        return {
            "ProjectId": f"cmepid_5fbb72524e70c2000192d{i:03x}",
            "Owner": owner,
            "Name": name,
            "Category": category,
            "WHRatio": "9:16" if i % 3 == 0 else "16:9",
            "Description": f"{name}（演示项目）",
            "MaterialIds": ids,
            "CreateTime": when(i * 5),
        }

    projects = [
        project(1, me, "招生宣传片", "Default", mine[:3]),
        project(2, me, "年终总结", "Default", mine[3:5]),
        project(3, me, "产品介绍", "Default", []),
        project(4, me, "周末直播", "Live", []),
        project(5, me, "新闻拆条", "VideoSegmentation", mine[5:6]),
        project(6, me, "导播台", "Switcher", []),
        project(7, team, "团队合辑", "Default", team_ids[:2]),
    ]
    tasks = [
        {
            "TaskId": f"1400293698-tfusion-e8476f5ba4e3f98d691bf415cfa978b{i}t0",
            "UserId": DEMO_USER_ID,
            "TaskType": "VIDEO_EDIT_PROJECT_EXPORT",
            "Status": "SUCCESS",
            "Progress": 100,
            "ProjectId": projects[i]["ProjectId"],
            "CreateTime": when(40 + i),
        }
        for i in range(2)
    ]
    return {
        "teams": [
            {
                "TeamId": DEMO_TEAM_ID,
                "Name": "演示团队",
                "CreateTime": "2023-12-23T08:18:12Z",
                "Members": {DEMO_USER_ID: "Owner", DEMO_FRIEND_ID: "Member"},
            }
        ],
        "classes": [
            {"Owner": me, "ClassPath": p}
            for p in (
                "/个人/视频/综艺",
                "/个人/视频/新闻",
                "/个人/音频",
                "/个人/图片",
                "/个人/项目素材",
            )
        ],
        "materials": materials,
        "projects": projects,
        "tasks": tasks,
        "shares": [
            {
                "Authorizer": friend,
                "Authorizee": me,
                "ClassPaths": ["/个人/分享"],
                "MaterialIds": shared[:1],
            }
        ],
    }
