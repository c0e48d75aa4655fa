"""examples/webapp.py served by uvicorn in a subprocess, driven over real HTTP.

The emulator runs in this process over TCP; the web app logs in to it and acts for
each request's user through `as_user` on one root client.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cme_async.testing import (
    DEMO_FRIEND_ID,
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    DEMO_USER_ID,
    FakeCme,
)

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def webapp(fake: FakeCme, url: str) -> AsyncIterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "CME_SECRET_ID": DEMO_SECRET_ID,
        "CME_SECRET_KEY": DEMO_SECRET_KEY,
        "CME_PLATFORM": DEMO_PLATFORM,
        "CME_API_URL": url,
        "CME_LOGIN_URL": url,
        "CME_USER_ID": "must-not-be-used",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.webapp:app",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(300):  # up to ~30 s on a busy machine
                if process.poll() is not None:
                    break
                try:
                    await probe.get(f"{base}/docs")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_one_root_client_serves_each_requests_user(fake: FakeCme, webapp: str) -> None:
    async with httpx.AsyncClient(base_url=webapp) as http:
        answers = await asyncio.gather(
            *(
                http.get("/classes", headers={"X-User-Id": user})
                for user in (DEMO_USER_ID, DEMO_FRIEND_ID) * 10
            )
        )
        assert all(a.status_code == 200 for a in answers), answers[0].text
        mine = answers[0].json()
        assert mine["ClassInfoSet"] and "class_info_set" not in mine  # wire names
        owners = {
            tuple(
                sorted({(c["Owner"]["Type"], c["Owner"]["Id"]) for c in a.json()["ClassInfoSet"]})
            )
            for a in answers[:2]
        }
        assert owners == {(("PERSON", DEMO_USER_ID),), (("PERSON", DEMO_FRIEND_ID),)}

        missing = await http.delete(
            "/materials/no-such-material", headers={"X-User-Id": DEMO_USER_ID}
        )
        assert missing.status_code == 404, missing.text  # NotFoundError -> 404
        assert missing.json()["error"] == "InvalidParameterValue.MaterialId"
    # One login per user however many requests, and every call carried its user's ticket.
    assert fake.logins_for(DEMO_USER_ID, DEMO_PLATFORM) == 1
    assert fake.logins_for(DEMO_FRIEND_ID, DEMO_PLATFORM) == 1
    assert fake.logins_for("must-not-be-used") == 0
    for record in fake.requests_for("Material/DescribeClass"):
        assert record.user_id == record.body["Owner"]["Id"]
