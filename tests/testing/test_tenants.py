"""Several tenants: more than one (SecretId, SecretKey, Platform), each platform its own space,
and a ticket that acts only as the (platform, user id) it was issued for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cme_async.testing import DEMO_PLATFORM, DEMO_SECRET_ID, DEMO_USER_ID, FakeCme

from .conftest import Api

P2, P2_ID, P2_KEY = "2000000002", "AKIDsecondTenant0000000000000000000", "secondTenantKey000"


def p2_signature(**kw: Any) -> dict[str, Any]:
    return {"secretId": P2_ID, "secret_key": P2_KEY, "platform": P2, **kw}


@pytest.fixture
async def http(fake: FakeCme) -> AsyncIterator[httpx.AsyncClient]:
    fake.add_credentials(P2_ID, P2_KEY, P2)
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://cme.test") as client:
        yield client


def owner(user: str = DEMO_USER_ID) -> dict[str, str]:
    return {"Type": "PERSON", "Id": user}


async def test_a_second_key_logs_in_to_its_own_platform(
    http: httpx.AsyncClient, fake: FakeCme
) -> None:
    api1, api2 = Api(http, fake), Api(http, fake)
    await api1.login()
    body = await api2.login(**p2_signature())
    assert body["Response"]["Platform"] == P2
    assert fake.active_tickets(DEMO_USER_ID, platform=P2) == [api2.ticket]
    assert fake.logins_for(DEMO_USER_ID) == 2
    assert fake.logins_for(DEMO_USER_ID, platform=P2) == 1
    # Same user id, two platforms: two identities with different TfUids.
    first = fake.requests_for("Login", platform=DEMO_PLATFORM)[0]
    second = fake.requests_for("Login", platform=P2)[0]
    assert first.session != second.session


async def test_each_platform_has_its_own_space(http: httpx.AsyncClient, fake: FakeCme) -> None:
    api1, api2 = Api(http, fake), Api(http, fake)
    await api1.login()
    await api2.login(**p2_signature())
    mine = fake.material_ids()[0]
    assert await api2.code("Material/DeleteMaterial", {"MaterialId": mine}) == (
        "InvalidParameterValue.MaterialId"
    )
    assert mine in fake.state.materials  # the seeded space is untouched
    tree2 = await api2.data("Material/DescribeClass", {"Platform": P2, "Owner": owner()})
    assert [c["ClassPath"] for c in tree2["ClassInfoSet"]] == ["/个人"]
    assert tree2["ClassInfoSet"][0]["Platform"] == P2
    made = await api2.data(
        "Material/CreateClass",
        {"ParentClassId": -1, "Name": "p2only", "Owner": owner()},
    )
    assert fake.space(P2).classes[made["ClassId"]].name == "p2only"
    tree1 = await api1.data("Material/DescribeClass", {"Platform": DEMO_PLATFORM, "Owner": owner()})
    assert "/个人/p2only" not in {c["ClassPath"] for c in tree1["ClassInfoSet"]}


async def test_a_ticket_acts_only_as_its_own_platform(
    http: httpx.AsyncClient, fake: FakeCme
) -> None:
    api1 = Api(http, fake)
    await api1.login()
    # A P1 ticket used for a P2 request is refused, and the log shows whose ticket it was.
    envelope = await api1.call("Material/DescribeClass", {"Platform": P2, "Owner": owner()})
    assert envelope["Code"] == "InvalidParameterValue.Platform"
    record = fake.requests[-1]
    assert (record.platform, record.user_id) == (DEMO_PLATFORM, DEMO_USER_ID)
    # Expiring P2's tickets leaves P1's alone.
    api2 = Api(http, fake)
    await api2.login(**p2_signature())
    assert fake.expire_tickets(DEMO_USER_ID, platform=P2) == 1
    assert await api2.code("Team/DescribeJoinTeams") == "AuthFailure.SessionInvalid"
    assert await api1.code("Team/DescribeJoinTeams") == "Success"
    assert fake.expiries_for(DEMO_USER_ID, platform=P2) == 1
    assert fake.expiries_for(DEMO_USER_ID, platform=DEMO_PLATFORM) == 0


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        # The P2 key signing for the demo platform: not a platform of that key.
        ({"secretId": P2_ID, "secret_key": P2_KEY}, "InvalidParameterValue.Platform"),
        # The demo key signing for P2.
        ({"platform": P2}, "InvalidParameterValue.Platform"),
        # The P2 id with the demo key.
        ({"secretId": P2_ID, "platform": P2}, "AuthFailure.SignatureFailure"),
    ],
)
async def test_keys_and_platforms_do_not_mix(
    http: httpx.AsyncClient, fake: FakeCme, kwargs: dict[str, Any], code: str
) -> None:
    body = await Api(http, fake).login(**kwargs)
    assert body["Response"]["Error"]["Code"] == code
    assert fake.logins == 0


async def test_one_key_may_serve_several_platforms(fake: FakeCme) -> None:
    fake.add_credentials(DEMO_SECRET_ID, fake.credentials.secret_key, P2)
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        body = await Api(http, fake).login(platform=P2)
    assert body["Response"]["Platform"] == P2


def test_add_credentials_checks_its_arguments(fake: FakeCme) -> None:
    with pytest.raises(ValueError, match="another SecretKey"):
        fake.add_credentials(DEMO_SECRET_ID, "a-different-key", P2)
    with pytest.raises(ValueError, match="platform"):
        fake.add_credentials("id", "key", "")


async def test_tenants_over_tcp(fake: FakeCme) -> None:
    from cme_async.testing import RemoteFakeCme

    from .conftest import make_signature

    async with fake.serve() as url, httpx.AsyncClient(base_url=url) as http:
        remote = RemoteFakeCme(url, http_client=http)
        await remote.add_credentials(P2_ID, P2_KEY, P2)
        signature = make_signature(secretId=P2_ID, secret_key=P2_KEY, platform=P2)
        login = (await http.get("/", params={"signature": signature})).json()
        assert login["Response"]["Platform"] == P2
        assert await remote.logins_for(DEMO_USER_ID, platform=P2) == 1
        with pytest.raises(ValueError):
            await remote.add_credentials(DEMO_SECRET_ID, "other-key", P2)
