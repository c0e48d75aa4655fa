"""Helpers for the action tests: a real client on respx, and the documented examples.

``tests/data/cme-client-actions.json`` is a copy of the reference
``cme-client-actions.json`` (every documented request/response example pair).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import respx

import cme_async
from cme_async._catalogue import ActionSpec, FieldSpec, catalogue

ACTIONS = catalogue().actions
STRUCTS = catalogue().structs

API_HOST = "web-paas-api.cme.qcloud.com"
LOGIN = "https://open.cme.qcloud.com"
LOGIN_ANSWER = {
    "Response": {
        "AppId": 1,
        "Authorization": "tf_x",
        "Platform": "1000000009",
        "RequestId": "r",
        "TfUid": "u",
    }
}
REFERENCE = json.loads(
    (Path(__file__).parent / "data" / "cme-client-actions.json").read_text(encoding="utf-8")
)


async def fake_signer(user_id: str) -> str:
    return f"signature-for-{user_id}"


fake_signer.platform = "1000000009"  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def mocked_client() -> AsyncIterator[tuple[cme_async.AsyncCmeClient, respx.MockRouter]]:
    """A real ``AsyncCmeClient`` (fake signer, no retries) with respx answering the login."""
    with respx.mock(assert_all_called=False) as router:
        router.get(url__startswith=LOGIN).respond(json=LOGIN_ANSWER)
        async with httpx.AsyncClient() as http:
            client = cme_async.AsyncCmeClient(
                fake_signer, "user_1", http_client=http, max_retries=0
            )
            async with client:
                yield client, router


def route(router: respx.MockRouter, action_class: str, name: str) -> respx.Route:
    return router.post(host=API_HOST, path=f"/PaaS/{action_class}/{name}")


def sent(r: respx.Route, index: int = -1) -> Any:
    """The JSON body of a request the route saw."""
    request = r.calls[index].request
    assert request.url.params["auth"] == "tf_x"
    return json.loads(request.content) if request.content else {}


def reference_actions() -> list[dict[str, Any]]:
    return list(REFERENCE["actions"])


def spec_of(action: Mapping[str, Any]) -> ActionSpec:
    return ACTIONS[f"{action['action_class']}/{action['action_name']}"]


def kwargs_from_wire(spec: ActionSpec, body: Mapping[str, Any]) -> dict[str, Any]:
    """Method keyword arguments for a documented wire request (nested values stay wire dicts)."""
    by_wire = {f.wire: f for f in spec.request}
    out = {}
    for key, value in body.items():
        assert key in by_wire, f"{spec.key}: documented request field {key} not in the catalogue"
        out[by_wire[key].attr] = value
    return out


def _struct_name(type_expr: str) -> str | None:
    inner = type_expr[5:-1] if type_expr.startswith("list[") else type_expr
    return inner if inner in STRUCTS else None


def normalize(value: Any, fields: Sequence[FieldSpec]) -> Any:
    """A wire object with every documented alias spelled the primary way."""
    if not isinstance(value, Mapping):
        return value
    out = dict(value)
    for f in fields:
        for alias in f.aliases:
            if f.wire not in out and alias in out:
                out[f.wire] = out.pop(alias)
        struct = _struct_name(f.type)
        if struct is None or out.get(f.wire) is None:
            continue
        inner = STRUCTS[struct].fields
        if isinstance(out[f.wire], list):
            out[f.wire] = [normalize(x, inner) for x in out[f.wire]]
        else:
            out[f.wire] = normalize(out[f.wire], inner)
    return out
