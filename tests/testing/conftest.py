"""Fixtures for the emulator's own unit tests: drive the ASGI app directly over
the in-process transport, with signatures made by an independent helper."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from cme_async.testing import (
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    DEMO_USER_ID,
    FakeCme,
)

ME = {"Type": "PERSON", "Id": DEMO_USER_ID}


def make_signature(
    *,
    secret_key: str = DEMO_SECRET_KEY,
    user_id: str = DEMO_USER_ID,
    now: float | None = None,
    expire_in: int = 300,
    drop: tuple[str, ...] = (),
    **overrides: Any,
) -> str:
    """The documented algorithm, written independently of cme_async.sign."""
    current = int(time.time() if now is None else now)
    params = {
        "secretId": DEMO_SECRET_ID,
        "currentTimeStamp": current,
        "expireTime": current + expire_in,
        "random": 123456,
        "platform": DEMO_PLATFORM,
        "action": "Login",
        "userId": user_id,
    }
    params.update(overrides)
    original = urlencode([(k, v) for k, v in params.items() if k not in drop]).encode()
    mac = hmac.new(secret_key.encode(), original, hashlib.sha1).digest()
    return base64.b64encode(mac + original).decode()


class Clock:
    """A settable clock for FakeCme(clock=...)."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Api:
    """A minimal raw client: log in, call actions, return the decoded envelope."""

    def __init__(self, http: httpx.AsyncClient, fake: FakeCme) -> None:
        self.http = http
        self.fake = fake
        self.ticket: str | None = None

    async def login(self, user_id: str = DEMO_USER_ID, **kw: Any) -> dict[str, Any]:
        now = kw.pop("now", self.fake.state.clock())
        response = await self.http.get(
            "/", params={"signature": make_signature(user_id=user_id, now=now, **kw)}
        )
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        auth = body.get("Response", {}).get("Authorization")
        if auth:
            self.ticket = auth
        return body

    async def raw(self, action: str, body: Any, ticket: str | None = None) -> httpx.Response:
        auth = ticket if ticket is not None else self.ticket
        return await self.http.post(f"/PaaS/{action}", params={"auth": auth or ""}, json=body)

    async def call(self, action: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        response = await self.raw(action, {} if body is None else body, **kw)
        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"]
        envelope: dict[str, Any] = response.json()
        assert set(envelope) <= {"Code", "Message", "EnglishMessage", "Data"}
        return envelope

    async def data(self, action: str, body: Any = None) -> dict[str, Any]:
        envelope = await self.call(action, body)
        assert envelope["Code"] == "Success", envelope
        result: dict[str, Any] = envelope.get("Data", {})
        return result

    async def code(self, action: str, body: Any = None) -> str:
        envelope = await self.call(action, body)
        assert "Data" not in envelope or envelope["Code"] == "Success"
        return str(envelope["Code"])


@pytest.fixture
def fake() -> FakeCme:
    return FakeCme.seeded()


@pytest.fixture
async def api(fake: FakeCme) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://cme.test") as http:
        client = Api(http, fake)
        await client.login()
        yield client
