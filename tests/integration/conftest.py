"""The SDK against the emulator over a real socket (uvicorn on 127.0.0.1, a free port)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import cme_async
from cme_async.testing import (
    DEMO_PLATFORM,
    DEMO_USER_ID,
    FakeCme,
)
from tests.emulated import demo_client

ME = {"Type": "PERSON", "Id": DEMO_USER_ID}
SCOPE = {"Platform": DEMO_PLATFORM, "Owner": ME}


@pytest.fixture
def fake() -> FakeCme:
    return FakeCme.seeded(task_duration=0.05)


@pytest.fixture
async def url(fake: FakeCme) -> AsyncIterator[str]:
    async with fake.serve(host="127.0.0.1", port=0) as served:
        yield served


make_client = demo_client


@pytest.fixture
async def client(url: str) -> AsyncIterator[cme_async.AsyncCmeClient]:
    async with make_client(url) as c:
        yield c
