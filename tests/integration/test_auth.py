"""Login over TCP: transparent re-login after expiry, refused signatures raise LoginError."""

from __future__ import annotations

import asyncio
import time

import pytest

import cme_async
from cme_async.testing import DEMO_PLATFORM, DEMO_SECRET_ID, DEMO_SECRET_KEY, FakeCme

from .conftest import ME, make_client


async def test_relogin_after_expire_tickets(
    client: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    await client.material.describe_class(platform=DEMO_PLATFORM, owner=ME)
    first = fake.active_tickets()
    assert fake.logins == 1 and len(first) == 1
    assert fake.expire_tickets() == 1
    tree = await client.material.describe_class(platform=DEMO_PLATFORM, owner=ME)
    assert tree.class_info_set
    assert fake.logins == 2
    assert fake.active_tickets() != first
    assert fake.calls["Material/DescribeClass"] == 3  # refused once, replayed once


async def test_burst_after_expiry_logs_in_once(
    client: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    await client.team.describe_join_teams()
    fake.expire_tickets()
    results = await asyncio.gather(*(client.team.describe_join_teams() for _ in range(50)))
    assert all(r.total_count == 1 for r in results)
    assert fake.logins == 2


async def test_session_invalid_answer_triggers_relogin(
    client: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    await client.team.describe_join_teams()
    fake.fail_next("DescribeJoinTeams", code="AuthFailure.SessionInvalid")
    assert (await client.team.describe_join_teams()).total_count == 1
    assert fake.logins == 2


def _signer(**kw: object) -> cme_async.Signer:
    async def sign(user_id: str) -> str:
        args: dict[str, object] = {
            "secret_id": DEMO_SECRET_ID,
            "secret_key": DEMO_SECRET_KEY,
            "platform": DEMO_PLATFORM,
            "user_id": user_id,
            **kw,
        }
        return cme_async.sign(**args)  # type: ignore[arg-type]

    sign.platform = DEMO_PLATFORM  # type: ignore[attr-defined]  # the client's platform
    return sign


@pytest.mark.parametrize(
    ("signer", "code"),
    [
        (_signer(secret_key="not-the-key"), "AuthFailure.SignatureFailure"),
        (_signer(platform="1000000001"), "InvalidParameterValue.Platform"),
        (_signer(now=int(time.time()) - 3600, expire_seconds=300), "AuthFailure.SignatureExpire"),
        (_signer(expire_seconds=2 * 24 * 3600), "AuthFailure.SignatureExpire"),
    ],
    ids=["wrong-key", "wrong-platform", "expired", "too-long"],
)
async def test_refused_signatures_raise_login_error(
    url: str, fake: FakeCme, signer: cme_async.Signer, code: str
) -> None:
    async with make_client(url, signer=signer, max_retries=0) as client:
        with pytest.raises(cme_async.LoginError) as info:
            await client.team.describe_join_teams()
    assert info.value.code == code
    assert "CME_SECRET_KEY" in str(info.value)  # the hint names what to check
    assert fake.logins == 0 and fake.login_attempts >= 1
    assert not fake.calls  # no action was reached without a ticket
