"""pytest plugin (entry point ``pytest11: cme_async``): fixtures ``cme_fake`` and ``cme_client``.

Any project that installs cme-async gets them::

    async def test_my_app(cme_client, cme_fake):
        page = await cme_client.material.search_material(search_scopes=[...])
        cme_fake.expire_tickets()   # the next call logs in again, transparently

``cme_client`` is an async fixture: it needs pytest-asyncio (or ``anyio``'s
plugin with an asyncio backend).  Nothing is imported until a fixture is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from cme_async import AsyncCmeClient

    from ._fake import FakeCme

try:  # pragma: no cover - depends on what the host project installed
    import pytest_asyncio

    _async_fixture: Callable[[Callable[..., Any]], Callable[..., Any]] = pytest_asyncio.fixture
except ImportError:  # pragma: no cover
    _async_fixture = pytest.fixture


@pytest.fixture
def cme_fake() -> FakeCme:
    """A seeded :class:`~cme_async.testing.FakeCme` (demo credentials, user ``demo_user``)."""
    from ._fake import FakeCme

    return FakeCme.seeded()


@_async_fixture
async def cme_client(cme_fake: FakeCme) -> AsyncIterator[AsyncCmeClient]:
    """An ``AsyncCmeClient`` for ``demo_user`` wired in process to ``cme_fake``."""
    import httpx

    from cme_async import AsyncCmeClient, LocalSigner

    from ._fake import IN_PROCESS_URL
    from .world.seed import DEMO_USER_ID

    creds = cme_fake.credentials
    signer = LocalSigner(creds.secret_id, creds.secret_key, creds.platform)
    async with (
        httpx.AsyncClient(transport=cme_fake.transport()) as http,
        AsyncCmeClient(
            signer, DEMO_USER_ID, api_url=IN_PROCESS_URL, login_url=IN_PROCESS_URL, http_client=http
        ) as client,
    ):
        yield client
