"""One way to build a client of the emulator's demo user, for every test folder."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import cme_async
from cme_async.testing import DEMO_PLATFORM, DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_USER_ID


def demo_signer() -> cme_async.LocalSigner:
    return cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)


def demo_client(url: str, signer: Any = None, **kwargs: Any) -> cme_async.AsyncCmeClient:
    """The demo user's client against an emulator at ``url`` (login and API both there)."""
    return cme_async.AsyncCmeClient(
        signer or demo_signer(), DEMO_USER_ID, api_url=url, login_url=url, **kwargs
    )


def demo_env(
    url: str,
    config_file: str | None = None,
    *,
    secret_id: str = DEMO_SECRET_ID,
    secret_key: str = DEMO_SECRET_KEY,
) -> dict[str, str]:
    """This process's environment with ``CME_*`` set for the demo user at ``url`` (a
    ``cme`` subprocess's), and no profile file unless ``config_file`` names one. The CLI
    tests pass a key pair of their own, to prove it never reaches any output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CME_")}
    env.update(
        CME_SECRET_ID=secret_id,
        CME_SECRET_KEY=secret_key,
        CME_PLATFORM=DEMO_PLATFORM,
        CME_USER_ID=DEMO_USER_ID,
        CME_API_URL=url,
        CME_LOGIN_URL=url,
        CME_CONFIG_FILE=config_file or os.devnull + ".absent",
    )
    return env


async def spawn_cme(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """``python -m cme_async.cli *args`` with its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cme_async.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
