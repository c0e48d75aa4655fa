"""Many end users on one client (issue 11): isolation, bounded memory, closing."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import os
from collections.abc import Mapping

import pytest

import cme_async
from cme_async._transport import Answer
from cme_async.testing import DEMO_PLATFORM, FakeCme
from tests.integration.conftest import make_client


def scope(user: str) -> dict[str, object]:
    return {"Platform": DEMO_PLATFORM, "Owner": {"Type": "PERSON", "Id": user}}


async def test_every_call_carries_its_own_users_ticket(fake: FakeCme, url: str) -> None:
    """200 users x 20 calls at once on views of one root, with random ticket expiries."""
    users = [f"user-{n:03d}" for n in range(200)]
    fake.request_log_size = 20_000
    fake.expire_randomly(0.02, seed=11, min_uses=2)
    async with make_client(url) as root:

        async def one(user: str) -> None:
            view = root.as_user(user)
            await view.call("Team", "DescribeJoinTeams", {"Limit": 1, "Marker": user})

        await asyncio.gather(*(one(user) for user in users for _ in range(20)))
    records = fake.requests_for("Team/DescribeJoinTeams")
    assert len(records) >= 200 * 20
    for record in records:
        assert record.user_id == record.body["Marker"], record
    expired = 0
    for user in users:
        expiries = fake.expiries_for(user, DEMO_PLATFORM)
        expired += expiries
        assert fake.logins_for(user, DEMO_PLATFORM) == expiries + 1, user
    assert expired > 0  # the random expiries did happen


class InstantTransport:
    """A Transport that answers at once, in process: the SDK's own memory, nothing else."""

    cancel_safe = True

    def __init__(self) -> None:
        self.serial = itertools.count()

    async def send(
        self,
        method: str,
        url: str,
        secret: tuple[str, str] | None,
        *,
        content: bytes | None,
        timeout: float,
        max_bytes: int,
        on_settled: object = None,
    ) -> Answer:
        if callable(on_settled):
            on_settled()
        if method == "GET":
            ticket = f"tf_{next(self.serial):08d}_instant_ticket"
            body = {"Response": {"Authorization": ticket, "Platform": DEMO_PLATFORM}}
        else:
            body = {"Code": "Success", "Data": {"Ok": True}}
        return Answer(200, json.dumps(body).encode(), _HEADERS)

    async def aclose(self) -> None:
        return None


_HEADERS: Mapping[str, str] = {"content-type": "application/json"}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_memory_stays_bounded_over_100000_users() -> None:
    """100,000 distinct users, one call each, on one root: the process grows < 50 MB.

    Measured as resident memory (tracemalloc would make the run several times slower),
    with a signer that costs nothing, so that what grows is the SDK's own state.
    """

    async def signer(user_id: str) -> str:
        return f"signature-of-{user_id}"

    root = cme_async.AsyncCmeClient(
        signer,
        platform=DEMO_PLATFORM,
        transport=InstantTransport(),
        api_url="https://a.invalid",
        login_url="https://l.invalid",
    )
    async with root:
        for n in range(20_000):  # fill the bounded records once, warm every path
            await root.as_user(f"warm-{n}").call("Material", "DescribeClass", {})
        gc.collect()
        before = _rss_bytes()
        for n in range(100_000):
            await root.as_user(f"user-{n}").call("Material", "DescribeClass", {})
        gc.collect()
        growth = _rss_bytes() - before
        assert growth < 50 * 1024 * 1024, growth
        assert len(root.tokens.store) <= 10_000  # type: ignore[arg-type]
        assert len(root.tokens._known) <= 10_000 and not root.tokens._inflight
        assert await root.as_user("user-99999").call("Material", "DescribeClass", {}) == {
            "Ok": True
        }
        assert root.tokens.login_count == 120_000


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_closing_the_root_ends_calls_in_flight_on_every_view(
    fake: FakeCme, url: str, transport: str
) -> None:
    fake.latency(1.0, "Team/DescribeJoinTeams")
    root = make_client(url, transport=transport)
    async with root:
        await root.as_user("warm").call("Material", "DescribeClass", scope("warm"))
        views = [root.as_user(f"u{n}") for n in range(10)]
        async with views[0]:  # a view's async with leaves the root open
            pass
        calls = [
            asyncio.create_task(v.call("Team", "DescribeJoinTeams", {"Limit": 1})) for v in views
        ]
        await asyncio.sleep(0.3)
        assert not root.is_closed
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, cme_async.ClientClosedError) for r in results), results
    with pytest.raises(cme_async.ClientClosedError):
        await views[3].call("Team", "DescribeJoinTeams", {"Limit": 1})
