"""``cme`` in subprocesses against the emulator over TCP (served by the test's loop).

The emulator here uses a key that is not the public demo one, so a test can prove
that it never shows up in anything ``cme`` prints.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs
import pytest

from cme_async.testing import DEMO_PLATFORM, DEMO_USER_ID, FakeCme
from tests.emulated import demo_env

SECRET_ID = "AKIDcliTestSecretId000000000000000"
SECRET_KEY = "cliTestSecretKey-Do-Not-Print-0123456789"
PLATFORM = DEMO_PLATFORM  # the emulator's demo user, with a key pair of the tests' own
USER = DEMO_USER_ID


@attrs.frozen
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        import json

        return json.loads(self.out)


class Cme:
    """Runs ``python -m cme_async.cli`` with the CME_* variables of the emulator."""

    def __init__(self, url: str, fake: FakeCme) -> None:
        self.url = url
        self.fake = fake
        self.outputs: list[str] = []

    def env(self, **changes: str | None) -> dict[str, str]:
        env = demo_env(self.url, secret_id=SECRET_ID, secret_key=SECRET_KEY)
        for key, value in changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    async def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        timeout: float = 60,
    ) -> Ran:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cme_async.cli",
            *args,
            env=dict(env) if env is not None else self.env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(
            proc.communicate(stdin.encode() if stdin is not None else None), timeout
        )
        ran = Ran(proc.returncode or 0, out.decode(), err.decode())
        self.outputs += [ran.out, ran.err]
        return ran

    def assert_no_secret(self) -> None:
        tickets = self.fake.active_tickets()
        for text in self.outputs:
            assert SECRET_KEY not in text
            for ticket in tickets:
                assert ticket not in text


@pytest.fixture
def fake() -> FakeCme:
    return FakeCme.seeded(secret_id=SECRET_ID, secret_key=SECRET_KEY, platform=PLATFORM)


@pytest.fixture
async def cme(fake: FakeCme) -> AsyncIterator[Cme]:
    async with fake.serve(host="127.0.0.1", port=0) as url:
        runner = Cme(url, fake)
        yield runner
        runner.assert_no_secret()
