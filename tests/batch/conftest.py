"""Fixtures for the batch runner: the emulator in process and over TCP, item builders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import cme_async
from cme_async import batch
from cme_async.testing import (
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    DEMO_USER_ID,
    FakeCme,
)

ME = {"Type": "PERSON", "Id": DEMO_USER_ID}


def signer() -> cme_async.LocalSigner:
    return cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)


@pytest.fixture
def fake() -> FakeCme:
    return FakeCme.seeded()


@pytest.fixture
async def url(fake: FakeCme) -> AsyncIterator[str]:
    async with fake.serve(host="127.0.0.1", port=0) as served:
        yield served


@pytest.fixture
async def local_client(fake: FakeCme) -> AsyncIterator[cme_async.AsyncCmeClient]:
    """A client wired in process to the emulator (fast; no sockets)."""
    http = httpx.AsyncClient(transport=fake.transport())
    async with cme_async.AsyncCmeClient(
        signer(), DEMO_USER_ID, http_client=http, on_retry=batch.count_attempts
    ) as client:
        yield client
    await http.aclose()


def describe(item_id: str, material_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "action": "Material/DescribeMaterials",
        "body": {"MaterialIds": [material_id]},
    }


def delete_unknown(item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "action": "Material/DeleteMaterial",
        "body": {"MaterialId": f"no-such-material-{item_id}"},
    }


def create_class(item_id: str, parent: int) -> dict[str, Any]:
    return {
        "id": item_id,
        "action": "Material/CreateClass",
        "body": {"ParentClassId": parent, "Name": f"batch-{item_id}", "Owner": ME},
    }


def modify(item_id: str, material_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "action": "Material/ModifyMaterial",
        "body": {"MaterialId": material_id, "Tags": [f"t{int(item_id) % 7}"]},
    }
