"""What the distributed fault tests share: the emulator's client, items, the worker's
environment and Redis look-ups."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

import cme_async
from cme_async.testing import (
    DEMO_USER_ID,
    FakeCme,
)
from tests.emulated import demo_client, demo_env

ME = {"Type": "PERSON", "Id": DEMO_USER_ID}
BOUND = 60.0  # seconds: the longest any wait here may take (they end in well under 1 s)


def worker_env(api_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a `cme worker` subprocess calling the emulator at ``api_url``."""
    return demo_env(api_url, str(tmp_path / "absent.toml"))


@contextlib.asynccontextmanager
async def emulator_client(
    fake: FakeCme, max_concurrency: int = 8
) -> AsyncIterator[cme_async.AsyncCmeClient]:
    async with (
        fake.serve() as url,
        demo_client(url, allow_insecure=True, max_concurrency=max_concurrency) as client,
    ):
        yield client


def creates(fake: FakeCme, count: int, prefix: str) -> list[dict[str, Any]]:
    root = fake.root_class_id()
    return [
        {
            "id": f"{prefix}{n}",
            "action": "Material/CreateClass",
            "body": {"ParentClassId": root, "Name": f"{prefix}{n}", "Owner": ME},
        }
        for n in range(count)
    ]


def sent_names(fake: FakeCme) -> Counter[str]:
    return Counter(r.body["Name"] for r in fake.requests_for("Material/CreateClass"))


async def results_of(redis: aioredis.Redis, batch_id: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in await redis.lrange(f"cme:batch:{batch_id}:results", 0, -1)]
