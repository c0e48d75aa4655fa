"""The request log and the counters: which identity each call carried, and what came back."""

from __future__ import annotations

import httpx
import pytest

from cme_async.testing import (
    DEMO_PLATFORM,
    DEMO_USER_ID,
    FakeCme,
    RequestLogOverflow,
    RequestRecord,
)

from .conftest import Api, make_signature

JOIN = "Team/DescribeJoinTeams"


async def test_every_request_is_logged_with_the_identity_its_ticket_was_issued_for(
    api: Api, fake: FakeCme
) -> None:
    alice = Api(api.http, fake)
    await alice.login(user_id="alice")
    assert await api.code(JOIN, {"Limit": 5}) == "Success"
    assert await alice.code(JOIN) == "Success"
    assert await api.code("Material/DeleteMaterial", {"MaterialId": "nope"}) == (
        "InvalidParameterValue.MaterialId"
    )
    logins = fake.requests_for("Login")
    assert [(r.user_id, r.platform, r.code, r.status) for r in logins] == [
        (DEMO_USER_ID, DEMO_PLATFORM, "Success", 200),
        ("alice", DEMO_PLATFORM, "Success", 200),
    ]
    calls = [r for r in fake.requests if r.action != "Login"]
    assert [(r.action, r.user_id, r.ticket, r.code) for r in calls] == [
        (JOIN, DEMO_USER_ID, "valid", "Success"),
        (JOIN, "alice", "valid", "Success"),
        ("Material/DeleteMaterial", DEMO_USER_ID, "valid", "InvalidParameterValue.MaterialId"),
    ]
    # The session serial ties each call to the login that issued its ticket.
    assert calls[0].session == logins[0].session and calls[1].session == logins[1].session
    assert calls[0].session != calls[1].session
    assert calls[0].body == {"Limit": 5}
    assert [r.seq for r in fake.requests] == sorted(r.seq for r in fake.requests)
    assert fake.requests_for("DescribeJoinTeams", user_id="alice") == [calls[1]]
    # No ticket text anywhere in a record.
    assert all(api.ticket not in repr(r) and alice.ticket not in repr(r) for r in fake.requests)


async def test_unknown_missing_and_expired_tickets(api: Api, fake: FakeCme) -> None:
    await api.raw(JOIN, {}, ticket="tf_forged")
    await api.raw(JOIN, {}, ticket="")
    old = api.ticket
    fake.expire_tickets(DEMO_USER_ID)
    assert await api.code(JOIN) == "AuthFailure.SessionInvalid"
    forged, missing, expired = fake.requests[-3:]
    assert (forged.ticket, forged.user_id, forged.platform, forged.session) == (
        "unknown",
        None,
        None,
        None,
    )
    assert (missing.ticket, missing.user_id) == ("missing", None)
    # An ended ticket is still attributed to the identity it was issued for.
    assert (expired.ticket, expired.user_id, expired.code) == (
        "expired",
        DEMO_USER_ID,
        "AuthFailure.SessionInvalid",
    )
    assert old is not None and old not in fake.active_tickets()


async def test_failures_are_logged_with_their_outcome(api: Api, fake: FakeCme) -> None:
    fake.fail_next(JOIN, http_status=503)
    fake.fail_next(JOIN, malformed=True)
    fake.fail_next(JOIN, drop_connection=True)
    await api.raw(JOIN, {})
    await api.raw(JOIN, {})
    with pytest.raises(httpx.RemoteProtocolError):
        await api.raw(JOIN, {})
    r = await api.http.post(f"/PaaS/{JOIN}", params={"auth": api.ticket}, content=b"{oops")
    assert r.json()["Code"] == "InvalidParameter"
    http_error, malformed, dropped, not_json = fake.requests[-4:]
    assert (http_error.status, http_error.code, http_error.outcome) == (503, None, "HTTP 503")
    assert (malformed.status, malformed.outcome) == (200, "malformed")
    assert (dropped.status, dropped.outcome, dropped.user_id) == (None, "dropped", DEMO_USER_ID)
    assert (not_json.body, not_json.code) == ("{oops", "InvalidParameter")


async def test_signatures_in_bodies_are_masked_in_the_log(api: Api, fake: FakeCme) -> None:
    body = {
        "ClassId": fake.root_class_id(),
        "MaterialType": "VIDEO",
        "Name": "clip",
        "Owner": {"Type": "PERSON", "Id": DEMO_USER_ID},
        "VerifySign": make_signature(action="Upload"),
    }
    assert await api.code("Material/CreateUploadMaterial", body) == "Success"
    logged = fake.requests[-1].body
    assert logged["VerifySign"] == "***" and logged["Name"] == "clip"
    assert body["VerifySign"] != "***"  # the request itself was not touched


async def test_counters_per_user_and_reset(fake: FakeCme) -> None:
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        for user in ("u1", "u1", "u2"):
            await Api(http, fake).login(user_id=user)
        await Api(http, fake).login(user_id="u3", secret_key="wrong")
    assert (fake.logins, fake.login_attempts) == (3, 4)
    assert (fake.logins_for("u1"), fake.logins_for("u2"), fake.logins_for("u3")) == (2, 1, 0)
    assert fake.logins_for("u1", platform=DEMO_PLATFORM) == 2
    assert fake.logins_for("u1", platform="elsewhere") == 0
    refused = fake.requests_for("Login")[-1]
    assert (refused.user_id, refused.code) == (None, "AuthFailure.SignatureFailure")
    assert fake.expire_tickets("u1") == 2 and fake.expiries_for("u1") == 2
    fake.reset_controls()
    assert (fake.logins, fake.logins_for("u1"), fake.expiries_for("u1")) == (0, 0, 0)
    assert fake.requests == [] and not fake.calls


async def test_the_log_is_bounded_and_resizable(api: Api, fake: FakeCme) -> None:
    fake.request_log_size = 3
    for _ in range(5):
        await api.code(JOIN)
    with pytest.warns(RequestLogOverflow, match="3 older ones were dropped"):
        kept = fake.requests
    assert [r.seq for r in kept] == [4, 5, 6]
    assert fake.calls[JOIN] == 5  # counters stay exact
    fake.request_log_size = 0
    await api.code(JOIN)
    with pytest.warns(RequestLogOverflow):
        assert fake.requests_for(JOIN) == []
    assert fake.calls[JOIN] == 6
    with pytest.raises(ValueError):
        fake.request_log_size = -1
    assert FakeCme(request_log_size=7).request_log_size == 7


def test_record_json_shape() -> None:
    record = RequestRecord(1, 0.0, JOIN, "u", "p", "valid", 3, {}, 200, "Success", "rid")
    assert record.to_json() == {
        "Seq": 1,
        "Time": 0.0,
        "Action": JOIN,
        "UserId": "u",
        "Platform": "p",
        "Ticket": "valid",
        "Session": 3,
        "Body": {},
        "Status": 200,
        "Code": "Success",
        "Outcome": "Success",
        "RequestId": "rid",
    }


async def test_the_log_is_readable_over_tcp(fake: FakeCme) -> None:
    from cme_async.testing import RemoteFakeCme

    async with fake.serve() as url, httpx.AsyncClient(base_url=url) as http:
        remote = RemoteFakeCme(url, http_client=http)
        for user in ("u1", "u2"):
            login = await http.get("/", params={"signature": make_signature(user_id=user)})
            ticket = login.json()["Response"]["Authorization"]
            for _ in range(3):
                await http.post(f"/PaaS/{JOIN}", params={"auth": ticket}, json={})
        everything = await remote.requests()
        assert len(everything) == 8 and [r["Seq"] for r in everything] == list(range(1, 9))
        mine = await remote.requests(action="DescribeJoinTeams", user_id="u2")
        assert [(r["UserId"], r["Ticket"], r["Outcome"]) for r in mine] == [
            ("u2", "valid", "Success")
        ] * 3
        assert await remote.requests(since=7) == everything[7:]
        page = (await http.get("/_emulator/requests", params={"limit": 2})).json()
        assert [r["Seq"] for r in page["Requests"]] == [1, 2] and page["Last"] == 2
        assert await remote.logins_for("u1") == 1
        await remote.expire_tickets("u2")
        assert await remote.expiries_for("u2") == 1 and await remote.expiries_for("u1") == 0
        counters = await remote.counters()
        assert counters["LoginsByUser"] == [
            {"Platform": DEMO_PLATFORM, "UserId": "u1", "Logins": 1},
            {"Platform": DEMO_PLATFORM, "UserId": "u2", "Logins": 1},
        ]
        await remote.set_request_log_size(1)
        assert fake.request_log_size == 1
        with pytest.warns(RequestLogOverflow):
            assert len(fake.requests) == 1
        await remote.reset_controls()
        assert fake.logins == 0 and await remote.requests() == []
        bad = await http.get("/_emulator/requests", params={"action": "NoSuchAction"})
        assert bad.status_code == 400
