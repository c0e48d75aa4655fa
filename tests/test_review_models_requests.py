"""Hostile-review regressions, request side: a misspelt wire name in a mapping argument
(``ClassID`` for ``ClassId``) was passed through as an undocumented field, so CME ignored
it and the call ran without the filter (a search over every class instead of one)."""

from __future__ import annotations

from typing import Any

import pytest
from actions_support import mocked_client, route

from cme_async._generated import models

SCOPE = {"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u"}}


@pytest.mark.parametrize(
    ("scope", "words"),
    [
        ({**SCOPE, "ClassID": 5}, "'ClassID' for SearchScope: did you mean 'ClassId'"),
        ({**SCOPE, "SearchOneDepht": True}, "did you mean 'SearchOneDepth'"),
        ({**SCOPE, "platfrom": "p"}, "unknown field 'platfrom'"),
        (
            {**SCOPE, "Owner": {"Type": "PERSON", "Id": "u", "TYPE": "TEAM"}},
            "search_scopes[0].owner: unknown field 'TYPE' for Entity: did you mean 'Type'",
        ),
    ],
)
async def test_a_near_miss_of_a_known_wire_name_is_refused_before_sending(
    scope: dict[str, Any], words: str
) -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Material", "SearchMaterial").respond(json={"Code": "Success"})
        with pytest.raises(ValueError) as info:
            await client.material.search_material(search_scopes=[scope])
        assert words in str(info.value)
        assert r.call_count == 0


async def test_an_undocumented_field_far_from_known_names_is_still_sent() -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Material", "SearchMaterial").respond(json={"Code": "Success"})
        extra = {**SCOPE, "ScrollToken": "t", "ClassIds": [1]}
        await client.material.search_material(search_scopes=[extra])
        assert r.call_count == 1
    assert models.SearchScope.from_dict(extra).unknown_fields == {
        "ScrollToken": "t",
        "ClassIds": [1],
    }
