"""Hostile-review regressions: facts the emulator's handlers used to restate (negative
Offset/Limit, a negative StartTimeOffset, ProcessMaterial's Definition values) now live
in the catalogue only, so the SDK refuses the same values before sending and a change in
``specs/`` changes what the emulator accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest

import cme_async
from cme_async import LocalSigner, _catalogue
from cme_async.testing import FakeCme
from cme_async.testing._fake import IN_PROCESS_URL
from cme_async.testing.world.seed import DEMO_USER_ID

from .conftest import Api

ME = {"Type": "PERSON", "Id": DEMO_USER_ID}


@pytest.fixture
async def client(fake: FakeCme) -> AsyncIterator[cme_async.AsyncCmeClient]:
    creds = fake.credentials
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        cme_async.AsyncCmeClient(
            LocalSigner(creds.secret_id, creds.secret_key, creds.platform),
            DEMO_USER_ID,
            api_url=IN_PROCESS_URL,
            login_url=IN_PROCESS_URL,
            http_client=http,
            max_retries=0,
        ) as c,
    ):
        yield c


def _scopes(fake: FakeCme) -> list[dict[str, Any]]:
    return [{"Platform": fake.credentials.platform, "Owner": ME}]


async def test_the_sdk_refuses_what_the_emulator_refuses_before_sending(
    client: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    mid = fake.material_ids()[0]
    m = client.material
    refused = [
        (m.search_material(search_scopes=_scopes(fake), limit=-1), "limit: must be at least 0"),
        (m.list_media(class_id=fake.root_class_id(), limit=-3), "limit: must be at least 0"),
        (m.process_material(material_id=mid, definition=21), "21 is not one of the documented"),
        (
            m.describe_material_subtitle(
                material_id=mid, start_time_offset=-1.0, end_time_offset=9.0
            ),
            "start_time_offset: must be at least 0",
        ),
    ]
    for call, words in refused:
        with pytest.raises(cme_async.RequestValidationError, match=words):
            await call
    assert fake.requests == []  # not even a login


@pytest.mark.parametrize(
    ("action", "body", "code"),
    [
        ("Material/SearchMaterial", {"Limit": -1}, "InvalidParameterValue.Limit"),
        ("Material/SearchMaterial", {"Offset": -1}, "InvalidParameterValue.Offset"),
        ("Material/ProcessMaterial", {"Definition": 21}, "InvalidParameterValue.Definition"),
        (
            "Material/DescribeMaterialSubtitle",
            {"StartTimeOffset": -1, "EndTimeOffset": 9},
            "InvalidParameterValue",
        ),
    ],
)
async def test_the_raw_road_gets_the_emulators_answer_from_the_catalogue(
    api: Api, fake: FakeCme, action: str, body: dict[str, Any], code: str
) -> None:
    full = {"MaterialId": fake.material_ids()[0], "SearchScopes": _scopes(fake), **body}
    spec = _catalogue.catalogue().actions[action]
    wires = {f.wire for f in spec.request}
    envelope = await api.call(action, {k: v for k, v in full.items() if k in wires})
    assert envelope["Code"] == code
    assert next(iter(body)) in envelope["EnglishMessage"]


def _loosened(action: str, wire: str, **changes: object) -> _catalogue.Catalogue:
    real = _catalogue.catalogue()
    spec = real.actions[action]
    fields = tuple(attrs.evolve(f, **changes) if f.wire == wire else f for f in spec.request)
    actions = {**real.actions, action: attrs.evolve(spec, request=fields)}
    return _catalogue.Catalogue(actions, real.structs, real.error_codes)


@pytest.mark.parametrize(
    ("action", "wire", "changes", "body"),
    [
        (
            "Material/ProcessMaterial",
            "Definition",
            {"enum": ("20", "30", "40")},
            {"Definition": 40},
        ),
        (
            "Material/DescribeMaterialSubtitle",
            "StartTimeOffset",
            {"minimum": None},
            {"StartTimeOffset": -5, "EndTimeOffset": 3000},
        ),
        ("Material/SearchMaterial", "Limit", {"minimum": None}, {"Limit": -2}),
    ],
)
async def test_no_handler_restates_the_catalogue(
    api: Api,
    fake: FakeCme,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    wire: str,
    changes: dict[str, Any],
    body: dict[str, Any],
) -> None:
    processed = action.endswith("Subtitle")  # a material with results to query
    video = next(
        m
        for m in fake.material_ids()
        if fake.state.materials[m].material_type == "VIDEO"
        and bool(fake.state.materials[m].ai) == processed
    )
    loose = _loosened(action, wire, **changes)
    monkeypatch.setattr("cme_async.testing._app.catalogue", lambda: loose)
    monkeypatch.setattr("cme_async.testing._validate.catalogue", lambda: loose)
    full = {"MaterialId": video, "SearchScopes": _scopes(fake), **body}
    wires = {f.wire for f in loose.actions[action].request}
    envelope = await api.call(action, {k: v for k, v in full.items() if k in wires})
    assert envelope["Code"] == "Success", envelope
    assert fake.internal_errors == []


async def test_integers_beyond_64_bits_are_refused_on_both_sides(
    client: cme_async.AsyncCmeClient, api: Api, fake: FakeCme
) -> None:
    """The API's Integer is 64-bit: a Python int past it used to be sent (and read by
    the emulator as a valid class id)."""
    too_big = 2**63
    with pytest.raises(ValueError, match=r"class_id: 9223372036854775808 does not fit"):
        await client.material.delete_class(class_id=too_big)
    scope = {**_scopes(fake)[0], "ClassId": -(2**63) - 1}
    with pytest.raises(ValueError, match=r"search_scopes\[0\]\.class_id: .* does not fit"):
        await client.material.search_material(search_scopes=[scope])
    assert not fake.calls and fake.logins == 1  # only the api fixture's login
    with pytest.raises(cme_async.NotFoundError):  # the largest one is a valid (unknown) id
        await client.material.delete_class(class_id=too_big - 1)
    envelope = await api.call("Material/DeleteClass", {"ClassId": too_big})
    assert envelope["Code"] == "InvalidParameterValue"
    assert "ClassId" in envelope["EnglishMessage"] and "64-bit" in envelope["EnglishMessage"]


async def test_the_request_log_masks_what_the_catalogue_marks_secret(
    api: Api, fake: FakeCme, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fake.root_class_id()
    upload = {"ClassId": root, "MaterialType": "VIDEO", "Name": "n", "Owner": ME}
    await api.call("Material/CreateUploadMaterial", {**upload, "VerifySign": "SIG-1"})
    [record] = fake.requests_for("CreateUploadMaterial")
    assert record.body["VerifySign"] == "***" and record.body["Name"] == "n"
    # The list of secrets is the catalogue's, not the emulator's own.
    marked = _loosened("Material/CreateClass", "Name", secret=True)
    monkeypatch.setattr("cme_async.testing._app.catalogue", lambda: marked)
    await api.call("Material/CreateClass", {"ParentClassId": root, "Name": "hidden", "Owner": ME})
    [record] = fake.requests_for("CreateClass")
    assert record.body["Name"] == "***" and record.body["ParentClassId"] == root


def test_the_validator_reads_a_union_with_a_list_like_the_sdk() -> None:
    """``string|list[string]`` (MaterialBasicInfo.MediaUrl's type) was read as a
    structure named ``list[string]``: any list was refused."""
    from cme_async._catalogue import ActionSpec, FieldSpec
    from cme_async.testing._faults import Fault
    from cme_async.testing._validate import validate_body

    urls = FieldSpec(wire="Urls", attr="urls", type="string|list[string]", item_max_length=3)
    spec = ActionSpec(
        action_class="X",
        action_name="Y",
        method="y",
        replay_safe=True,
        paging="none",
        request=(urls,),
        response=(),
        has_data=False,
    )
    validate_body(spec, {"Urls": "abc"})
    validate_body(spec, {"Urls": ["abc", "d"]})
    with pytest.raises(Fault, match=r"Urls\[1\]"):
        validate_body(spec, {"Urls": ["abc", 5]})
    with pytest.raises(Fault, match="Urls"):
        validate_body(spec, {"Urls": 5})


async def test_the_sub_code_of_a_bad_field_is_the_catalogues(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator kept its own list of fields with an InvalidParameterValue.<Field>
    code; it missed the documented InvalidParameterValue.VodFileId."""
    finish = {"UploadContext": "ctx", "VodFileId": 5}
    assert await api.code("Material/FinishUploadMaterial", finish) == (
        "InvalidParameterValue.VodFileId"
    )
    real = _catalogue.catalogue()
    codes = {k: v for k, v in real.error_codes.items() if k != "InvalidParameterValue.Limit"}
    fewer = _catalogue.Catalogue(real.actions, real.structs, codes)
    monkeypatch.setattr("cme_async.testing._validate.catalogue", lambda: fewer)
    body = {"SearchScopes": [], "Limit": -1}
    assert await api.code("Material/SearchMaterial", body) == "InvalidParameterValue"


def test_no_emulator_module_writes_out_a_catalogue_enum() -> None:
    """Guard: the documented values of an enum (PERSON, TEAM; Asc, Desc ...) live in the
    catalogue; an emulator module spelling the whole list restates it."""
    from pathlib import Path

    import cme_async.testing as emulator

    enums = [e.values for e in _catalogue.catalogue().enums.values() if len(e.values) > 1]
    root = Path(emulator.__file__).parent
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for values in enums:
            for quote in ('"', "'"):
                listed = ", ".join(f"{quote}{v}{quote}" for v in values)
                assert listed not in source, f"{path.name} restates {values}"
