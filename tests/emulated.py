"""One way to build a client of the emulator's demo user, for every test folder."""

from __future__ import annotations

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
