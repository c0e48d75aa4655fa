"""Fixtures for the fault-injection suite: the emulator over a real socket, with a recorder."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import pytest

import cme_async
from cme_async.testing import FakeCme
from tests.emulated import demo_client

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class Recorder:
    """ASGI middleware: for each CreateClass request, the Name sent and what came back.

    It sees requests exactly as the server received them, so it can prove that a
    non-replay-safe call was never sent again after an answer that may mean it ran.
    """

    def __init__(self, app: Callable[[Scope, Any, Any], Awaitable[None]]) -> None:
        self.app = app
        self.create_class: dict[str, list[str]] = defaultdict(list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not scope.get("path", "").endswith("/CreateClass"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recv() -> Message:
            message: Message = await receive()
            chunks.append(message.get("body", b""))
            return message

        outcome = ["dropped"]
        status = [200]

        async def snd(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                try:
                    outcome[0] = json.loads(body).get("Code", "?")
                except ValueError:
                    outcome[0] = "malformed"
                if status[0] != 200:
                    outcome[0] = f"HTTP {status[0]}"
            await send(message)

        try:
            await self.app(scope, recv, snd)
        finally:
            try:
                name = json.loads(b"".join(chunks)).get("Name", "?")
            except ValueError:
                name = "?"
            self.create_class[name].append(outcome[0])


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeCme, str, Recorder]]:
    fake = FakeCme.seeded(task_duration=0.2)
    recorder = Recorder(fake.app)
    fake.app = recorder  # type: ignore[assignment]
    async with fake.serve() as url:
        yield fake, url, recorder


def client_for(fake: FakeCme, url: str, **kwargs: Any) -> cme_async.AsyncCmeClient:
    return demo_client(url, **kwargs)
