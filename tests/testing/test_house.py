"""How the emulator is put together: the app needs only its world, controls and credentials;
handlers come from explicit tables; limits come from the catalogue alone; the CLI flags."""

from __future__ import annotations

import attrs
import httpx
import pytest

from cme_async import _catalogue
from cme_async.testing import (
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    FakeCme,
    _app,
    handlers,
)
from cme_async.testing._app import App
from cme_async.testing._controls import Controls
from cme_async.testing._credentials import CredentialRegistry, Credentials
from cme_async.testing._transport import FakeCmeTransport
from cme_async.testing.world import World

from .conftest import Api, make_signature


async def test_the_app_runs_on_its_world_controls_and_credentials_alone() -> None:
    world = World(DEMO_PLATFORM, clock=lambda: 1_750_000_000.0)
    controls = Controls(known=frozenset(handlers.dispatch_table()))
    app = App(
        world,
        controls,
        CredentialRegistry(Credentials(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)),
    )
    async with httpx.AsyncClient(transport=FakeCmeTransport(app), base_url="http://x") as http:
        login = await http.get("/", params={"signature": make_signature(now=1_750_000_000)})
        ticket = login.json()["Response"]["Authorization"]
        r = await http.post("/PaaS/Team/DescribeJoinTeams", params={"auth": ticket}, json={})
    assert r.json()["Data"] == {"TotalCount": 0, "TeamSet": []}
    assert controls.ledger.logins == 1 and controls.ledger.calls["Team/DescribeJoinTeams"] == 1
    assert list(world.tickets.sessions) == [ticket]


def test_handlers_come_from_explicit_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    table = handlers.dispatch_table()
    assert table is not handlers.dispatch_table()  # a fresh dict each time
    per_class = {
        "Material": handlers.material.HANDLERS.keys() | handlers.material_ai.HANDLERS.keys(),
        "Project": handlers.project.HANDLERS.keys(),
        "Team": handlers.team.HANDLERS.keys(),
        "Task": handlers.task.HANDLERS.keys(),
    }
    for action_class, keys in per_class.items():
        assert keys and all(k.startswith(f"{action_class}/") for k in keys)
    assert sum(len(k) for k in per_class.values()) == len(table) == 32
    duplicated = (*handlers._TABLES, {"Team/DescribeTeams": handlers.team.describe_teams})
    monkeypatch.setattr(handlers, "_TABLES", duplicated)
    with pytest.raises(RuntimeError, match="Team/DescribeTeams"):
        handlers.dispatch_table()


def _with_field(action: str, wire: str, **changes: object) -> _catalogue.Catalogue:
    real = _catalogue.catalogue()
    spec = real.actions[action]
    fields = tuple(attrs.evolve(f, **changes) if f.wire == wire else f for f in spec.request)
    actions = {**real.actions, action: attrs.evolve(spec, request=fields)}
    return _catalogue.Catalogue(actions, real.structs, real.error_codes)


async def test_limits_are_the_catalogues(
    api: Api, fake: FakeCme, monkeypatch: pytest.MonkeyPatch
) -> None:
    mid = fake.material_ids()[0]
    modify = "Material/ModifyMaterial"
    # The documented limits: Name at most 90 characters, at most 30 tags of 15 each.
    assert await api.code(modify, {"MaterialId": mid, "Name": "n" * 91}) == (
        "InvalidParameterValue.Name"
    )
    assert await api.code(modify, {"MaterialId": mid, "Tags": ["t"] * 31}) == (
        "InvalidParameterValue"
    )
    envelope = await api.call(modify, {"MaterialId": mid, "Tags": ["x" * 16]})
    assert envelope["Code"] == "InvalidParameterValue" and "Tags[0]" in envelope["EnglishMessage"]
    # Change the catalogue and the emulator follows: nothing is restated in a handler.
    changed = _with_field(modify, "Name", max_length=3)
    monkeypatch.setattr(_app, "catalogue", lambda: changed)
    monkeypatch.setattr("cme_async.testing._validate.catalogue", lambda: changed)
    assert await api.code(modify, {"MaterialId": mid, "Name": "abcd"}) == (
        "InvalidParameterValue.Name"
    )
    loose = _with_field(modify, "Tags", max_items=None, item_max_length=None)
    monkeypatch.setattr(_app, "catalogue", lambda: loose)
    monkeypatch.setattr("cme_async.testing._validate.catalogue", lambda: loose)
    assert await api.code(modify, {"MaterialId": mid, "Tags": ["x" * 20] * 31}) == "Success"
    assert fake.state.materials[mid].tags == ["x" * 20]


def test_cli_flags_for_tenants_latency_ttl_and_the_log() -> None:
    from cme_async.testing.__main__ import _banner, _fake, _parser

    args = _parser().parse_args(
        [
            "--seed",
            "--credentials",
            "AKIDother:otherKey:2000000002",
            "--ticket-ttl",
            "60",
            "--login-latency",
            "0.5",
            "--request-log",
            "50000",
        ]
    )
    fake = _fake(args)
    assert fake.ticket_ttl == 60 and fake.request_log_size == 50000
    assert fake.controls.latencies == {"Login": 0.5}
    assert {c.platform for c in fake.registry} == {DEMO_PLATFORM, "2000000002"}
    assert fake.material_ids()  # --seed still loads the demo library
    banner = _banner("http://127.0.0.1:1", args)
    assert "export CME_PLATFORM=1000000009" in banner
    assert "AKIDother" in banner and "otherKey" not in banner
    with pytest.raises(SystemExit):
        from cme_async.testing.__main__ import main

        main(["--credentials", "only:two"])


async def test_the_in_process_transport_answers_with_a_stream(fake: FakeCme) -> None:
    """Like a socket transport: a client may read the answer in chunks (and bound it)."""
    async with (
        httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http,
        http.stream("GET", "/", params={"signature": make_signature()}) as response,
    ):
        chunks = [chunk async for chunk in response.aiter_raw()]
    assert b"Authorization" in b"".join(chunks)
