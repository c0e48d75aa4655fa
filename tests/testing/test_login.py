"""The login exchange: signature checks, the answer shapes, tickets."""

from __future__ import annotations

import base64

import httpx
import pytest

from cme_async.testing import DEMO_PLATFORM, DEMO_USER_ID, FakeCme

from .conftest import Api, Clock, make_signature


async def _login(fake: FakeCme, signature: str) -> dict:
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://cme.test") as http:
        response = await http.get("/", params={"signature": signature})
    assert response.status_code == 200
    assert response.headers["x-request-id"]
    return response.json()


def _error_code(body: dict) -> str:
    assert set(body) == {"Response"}
    assert set(body["Response"]) == {"Error", "RequestId"}
    return str(body["Response"]["Error"]["Code"])


async def test_good_signature_issues_a_ticket_bound_to_the_user(fake: FakeCme) -> None:
    body = await _login(fake, make_signature(user_id="alice"))
    response = body["Response"]
    assert set(response) == {"AppId", "Authorization", "Platform", "RequestId", "TfUid"}
    assert response["Authorization"].startswith("tf_")
    assert response["Platform"] == DEMO_PLATFORM
    assert fake.active_tickets("alice") == [response["Authorization"]]
    assert fake.logins == 1
    again = await _login(fake, make_signature(user_id="alice"))
    assert again["Response"]["Authorization"] != response["Authorization"]
    assert again["Response"]["TfUid"] == response["TfUid"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"secret_key": "wrong-key"}, "AuthFailure.SignatureFailure"),
        ({"secretId": "AKIDsomeoneElse"}, "AuthFailure.SecretIdNotFound"),
        ({"platform": "9999999999"}, "InvalidParameterValue.Platform"),
        ({"action": "Upload"}, "AuthFailure.UnauthorizedOperation"),
        ({"expire_in": -10}, "AuthFailure.SignatureExpire"),
        ({"expire_in": 24 * 3600 + 60}, "AuthFailure.SignatureExpire"),
        ({"drop": ("userId",)}, "AuthFailure.SignatureFailure"),
        ({"random": "abc"}, "AuthFailure.SignatureFailure"),
    ],
)
async def test_bad_signatures_are_refused(fake: FakeCme, kwargs: dict, code: str) -> None:
    body = await _login(fake, make_signature(**kwargs))
    assert _error_code(body) == code
    assert fake.logins == 0
    assert fake.login_attempts == 1
    assert not fake.active_tickets()


async def test_parameter_order_does_not_matter(fake: FakeCme) -> None:
    import hashlib
    import hmac

    original = (
        f"userId={DEMO_USER_ID}&action=Login&platform={DEMO_PLATFORM}&random=7"
        f"&expireTime=4102444800&currentTimeStamp=4102444000"
        f"&secretId={fake.credentials.secret_id}"
    ).encode()
    mac = hmac.new(fake.credentials.secret_key.encode(), original, hashlib.sha1).digest()
    fake.world.clock = lambda: 4102444100.0
    body = await _login(fake, base64.b64encode(mac + original).decode())
    assert body["Response"]["Authorization"].startswith("tf_")


async def test_garbage_and_missing_signatures(fake: FakeCme) -> None:
    assert _error_code(await _login(fake, "!!!not base64!!!")) == "AuthFailure.SignatureFailure"
    assert _error_code(await _login(fake, base64.b64encode(b"short").decode())) == (
        "AuthFailure.SignatureFailure"
    )
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        body = (await http.get("/")).json()
    assert _error_code(body) == "MissingParameter"


async def test_expiry_is_judged_by_the_fake_clock() -> None:
    clock = Clock()
    fake = FakeCme.seeded(clock=clock)
    signature = make_signature(now=clock.now, expire_in=300)
    clock.now += 301
    assert _error_code(await _login(fake, signature)) == "AuthFailure.SignatureExpire"
    clock.now -= 2
    assert (await _login(fake, signature))["Response"]["Authorization"].startswith("tf_")


async def test_legacy_login_shape() -> None:
    fake = FakeCme.seeded(login_shape="legacy")
    body = await _login(fake, make_signature())
    assert body["Code"] == "Success"
    assert body["Data"]["Authorization"].startswith("tf_")
    assert body["Data"]["UserId"] == DEMO_USER_ID
    bad = await _login(fake, make_signature(secret_key="nope"))
    assert bad["Code"] == "AuthFailure.SignatureFailure"
    assert "Data" not in bad


async def test_ticket_ttl_expires_sessions() -> None:
    clock = Clock()
    fake = FakeCme.seeded(clock=clock, ticket_ttl=60)
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        api = Api(http, fake)
        await api.login()
        assert await api.code("Team/DescribeJoinTeams") == "Success"
        clock.now += 61
        assert await api.code("Team/DescribeJoinTeams") == "AuthFailure.SessionInvalid"
