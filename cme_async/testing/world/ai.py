"""Deterministic fake AI results (what a finished ``ProcessMaterial`` task writes)."""

from __future__ import annotations

import random

from .model import JSON, AIResult, Material
from .state import State, _start


def write_ai_result(state: State, m: Material, kind: str) -> None:
    """Deterministic AI output for ``m`` (seeded by its id), replacing earlier AI items."""
    rng = random.Random(f"{m.material_id}/{kind}")
    span = max(m.duration, 10.0)
    starts = sorted(round(rng.uniform(0, span - 2), 2) for _ in range(rng.randint(6, 14)))
    version = state.hex_id(24)

    def seg(start: float) -> tuple[float, float]:
        return start, round(min(span, start + rng.uniform(0.5, 3.0)), 2)

    items: list[JSON] = []
    if kind == "frame":
        words = ["人物", "风景", "汽车", "城市", "美食", "运动", "室内", "夜景"]
        for s in starts:
            a, b = seg(s)
            items.append(
                {
                    "ItemId": state.hex_id(),
                    "StartTimeOffset": a,
                    "EndTimeOffset": b,
                    "Tags": rng.sample(words, 2),
                }
            )
        old = m.ai.get("frame")
        result = AIResult(version, items)
        if old is not None:  # manual frame tags survive a new AI run
            result.items.extend(i for i in old.items if i["ItemId"] in old.manual_ids)
            result.items.sort(key=_start)
            result.manual_ids = set(old.manual_ids)
        m.ai["frame"] = result
        return
    if kind == "subtitle":
        lines = ["大家好", "欢迎收看本期节目", "今天我们聊一聊", "谢谢观看", "下期再见"]
        for s in starts:
            a, b = seg(s)
            items.append(
                {
                    "ItemId": state.hex_id(),
                    "StartTimeOffset": a,
                    "EndTimeOffset": b,
                    "Text": rng.choice(lines),
                }
            )
    elif kind == "text":
        for s in starts:
            a, b = seg(s)
            items.append(
                {
                    "ItemId": state.hex_id(),
                    "StartTimeOffset": a,
                    "EndTimeOffset": b,
                    "SegmentSet": [
                        {"Text": rng.choice(["广告", "字幕", "标题"]), "AreaCoordSet": _box(rng)}
                    ],
                }
            )
    elif kind == "face":
        for n in range(rng.randint(1, 3)):
            items.append(
                {
                    "Id": str(10000 + n),
                    "Name": rng.choice(["张三", "李四", "王五"]),
                    "Type": "Default",
                    "FaceUrl": f"{m.preview_url()}#face{n}",
                    "SegmentSet": [_segment(rng, *seg(s)) for s in starts[n::3]],
                }
            )
    elif kind == "object":
        for n, name in enumerate(rng.sample(["汽车", "猫", "狗", "树", "杯子"], 3)):
            items.append(
                {
                    "ItemId": state.hex_id(),
                    "Name": name,
                    "SegmentItemSet": [_segment(rng, *seg(s)) for s in starts[n::3]],
                }
            )
    m.ai[kind] = AIResult(version, items)


def _box(rng: random.Random) -> list[int]:
    x, y = rng.randint(0, 1500), rng.randint(0, 900)
    return [x, y, x + rng.randint(20, 300), y + rng.randint(20, 150)]


def _segment(rng: random.Random, start: float, end: float) -> JSON:
    return {
        "StartTimeOffset": start,
        "EndTimeOffset": end,
        "Confidence": round(rng.uniform(80, 99.9), 1),
        "AreaCoordSet": _box(rng),
    }
