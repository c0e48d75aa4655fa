"""``client.material``: the generated methods post the right path and wire body and parse."""

from __future__ import annotations

from typing import Any

import pytest
from actions_support import mocked_client, route, sent

from cme_async import MalformedResponseError, RawResult
from cme_async._generated.models import (
    DescribeMaterialsResponse,
    Entity,
    MaterialInfo,
    SearchMaterialResponse,
    SearchScope,
    SortBy,
)
from cme_async._generated.namespaces import MaterialActions


def ok(data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Code": "Success", "Message": "成功", "EnglishMessage": "success"}
    if data is not None:
        body["Data"] = data
    return body


async def test_search_material_body_and_answer() -> None:
    item = {
        "BasicInfo": {
            "MaterialId": "38192156030633420589",
            "MaterialType": "HOLOGRAM",  # a value CME may add one day: kept, no error
            "MediaUrl": ["https://a/1.mp4", "https://a/2.mp4"],
            "Owner": {"Id": "u1", "Type": "PERSON"},
            "Brand": "new",
        },
        "MaterialStatus": {"TranscodeStatus": "NORMAL"},
        "FutureBlock": {"X": 1},
    }
    async with mocked_client() as (client, router):
        r = route(router, "Material", "SearchMaterial").respond(
            json=ok({"TotalCount": 1, "MaterialInfoSet": [item]})
        )
        result = await client.material.search_material(
            search_scopes=[
                SearchScope(platform="p", owner=Entity(type="PERSON", id="u1"), class_id=1430),
                {"Platform": "p", "owner": {"type": "TEAM", "id": "t1"}, "SearchOneDepth": True},
            ],
            text="cat",
            material_types=("VIDEO",),
            sort=SortBy(field="CreateTime", order="Asc"),
            limit=10,
        )
    assert sent(r) == {
        "SearchScopes": [
            {"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u1"}, "ClassId": 1430},
            {"Platform": "p", "Owner": {"Type": "TEAM", "Id": "t1"}, "SearchOneDepth": True},
        ],
        "Text": "cat",
        "MaterialTypes": ["VIDEO"],
        "Sort": {"Field": "CreateTime", "Order": "Asc"},
        "Limit": 10,
    }
    assert isinstance(result, SearchMaterialResponse)
    assert result.total_count == 1
    info = result.material_info_set[0] if result.material_info_set else None
    assert isinstance(info, MaterialInfo)
    assert info.basic_info is not None
    assert info.basic_info.material_id == "38192156030633420589"
    assert info.basic_info.material_type == "HOLOGRAM"
    assert info.basic_info.media_url == ["https://a/1.mp4", "https://a/2.mp4"]
    assert info.basic_info.owner == Entity(type="PERSON", id="u1")
    assert info.basic_info.unknown_fields == {"Brand": "new"}
    assert info.unknown_fields == {"FutureBlock": {"X": 1}}


async def test_delete_material_returns_none() -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Material", "DeleteMaterial").respond(json=ok())
        assert await client.material.delete_material(material_id="m1") is None
    assert r.call_count == 1
    assert sent(r) == {"MaterialId": "m1"}


async def test_describe_materials_accepts_the_documented_flat_answer() -> None:
    flat = {
        "MaterialBasicInfo": {"MaterialId": "m1", "MediaUrl": "https://a/1.mp4"},
        "VideoMaterial": {"MetaData": {"VideoStreamInfoSet": [{"Fps": 30, "Codec": "h264"}]}},
    }
    async with mocked_client() as (client, router):
        r = route(router, "Material", "DescribeMaterials").respond(json=ok(flat))
        result = await client.material.describe_materials(
            material_ids=["m1"], filter_info={"NeedImageSpriteInfo": True}
        )
    assert sent(r) == {"MaterialIds": ["m1"], "FilterInfo": {"NeedImageSpriteInfo": True}}
    assert isinstance(result, DescribeMaterialsResponse)
    assert result.material_info_set is not None and len(result.material_info_set) == 1
    info = result.material_info_set[0]
    assert info.basic_info is not None and info.basic_info.media_url == "https://a/1.mp4"
    assert info.video_material is not None and info.video_material.meta_data is not None
    streams = info.video_material.meta_data.video_stream_set
    assert streams is not None and streams[0].fps == 30


async def test_create_upload_material_and_finish() -> None:
    async with mocked_client() as (client, router):
        create = route(router, "Material", "CreateUploadMaterial").respond(
            json=ok({"UploadContext": "ctx", "VodUploadSign": "sig"})
        )
        finish = route(router, "Material", "FinishUploadMaterial").respond(
            json=ok({"MaterialId": "m9"})
        )
        up = await client.material.create_upload_material(
            class_id=1423,
            material_type="VIDEO",
            name="clip",
            owner={"Type": "PERSON", "Id": "u"},
            verify_sign="upload-signature",
        )
        assert up.upload_context == "ctx"
        assert up.vod_upload_sign == "sig"
        done = await client.material.finish_upload_material(
            upload_context=up.upload_context, vod_file_id="528589"
        )
    assert sent(create) == {
        "ClassId": 1423,
        "MaterialType": "VIDEO",
        "Name": "clip",
        "Owner": {"Type": "PERSON", "Id": "u"},
        "VerifySign": "upload-signature",
    }
    assert sent(finish) == {"UploadContext": "ctx", "VodFileId": "528589"}
    assert done.material_id == "m9"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"search_scopes": [{"Platform": "p"}]}, TypeError, "search_scopes[0].owner is required"),
        ({"search_scopes": "p"}, TypeError, "search_scopes: expected a list"),
        ({"search_scopes": [], "text": 5}, TypeError, "text: expected str, got int"),
        ({"search_scopes": [], "limit": True}, TypeError, "limit: expected int, got bool"),
        ({"search_scopes": [{"platfrom": "p"}]}, ValueError, "unknown field 'platfrom'"),
        (
            {"search_scopes": [], "duration_range": {"LowerBound": 1}},
            TypeError,
            "duration_range.upper_bound is required",
        ),
        (
            {"search_scopes": [], "sort": Entity(type="PERSON", id="x")},
            TypeError,
            "sort: expected SortBy or a mapping",
        ),
    ],
)
async def test_bad_arguments_send_nothing(
    kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Material", "SearchMaterial").respond(json=ok({"TotalCount": 0}))
        with pytest.raises(error) as info:
            await client.material.search_material(**kwargs)
        assert "material.search_material" in str(info.value)
        assert words in str(info.value)
        assert r.call_count == 0
        assert not any(c.request.url.host == "open.cme.qcloud.com" for c in router.calls)


async def test_missing_required_none_is_refused() -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Material", "DeleteMaterial").respond(json=ok())
        with pytest.raises(TypeError, match="material_id is required"):
            await client.material.delete_material(material_id=None)  # type: ignore[arg-type]
        assert r.call_count == 0


class RecordingClient:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[Any, ...]] = []

    async def call(
        self,
        action_class: str,
        action_name: str,
        body: Any = None,
        *,
        timeout: Any = None,
        max_retries: Any = None,
        deadline: Any = None,
        replay_safe: Any = None,
    ) -> Any:
        self.calls.append(
            (action_class, action_name, body, timeout, max_retries, deadline, replay_safe)
        )
        return self.answer

    async def call_raw(self, *args: Any, **kwargs: Any) -> Any:
        """Typed methods with a result ask for the request id too."""
        return RawResult(await self.call(*args, **kwargs), "req-fake", 200, 1)


async def test_call_options_are_forwarded() -> None:
    fake = RecordingClient({"TaskId": "t1"})
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    result = await actions.process_material(
        material_id="m", definition=30, timeout=1.5, max_retries=4, deadline=9.0
    )
    assert result.task_id == "t1"
    assert fake.calls == [
        ("Material", "ProcessMaterial", {"MaterialId": "m", "Definition": 30}, 1.5, 4, 9.0, False)
    ]


async def test_namespace_is_cached_per_client() -> None:
    async with mocked_client() as (client, _):
        assert client.material is client.material
        assert isinstance(client.material, MaterialActions)


async def test_data_of_the_wrong_shape_is_a_malformed_response() -> None:
    async with mocked_client() as (client, router):
        route(router, "Material", "SearchMaterial").respond(
            json=ok({"TotalCount": 1, "MaterialInfoSet": [["not", "an", "object"]]})
        )
        with pytest.raises(MalformedResponseError) as info:
            await client.material.search_material(search_scopes=[])
    assert info.value.action == "Material/SearchMaterial"
    assert "MaterialInfo: expected a JSON object, got list" in str(info.value)


async def test_namespaces_of_a_with_options_view_use_the_view() -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Material", "DeleteMaterial").respond(json=ok())
        view = client.with_options(max_retries=0)
        assert view.material is not client.material
        assert view.material._client is view
        await view.material.delete_material(material_id="m")
    assert sent(r) == {"MaterialId": "m"}


async def test_platform_and_owner_default_to_the_clients() -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Material", "DescribeClass").respond(json=ok({"ClassInfoSet": []}))
        await client.material.describe_class()
        assert sent(r) == {"Platform": "1000000009", "Owner": {"Type": "PERSON", "Id": "user_1"}}
        # An explicit argument wins; views act for their own user.
        await client.material.describe_class(platform="p2", owner={"Type": "TEAM", "Id": "t"})
        assert sent(r) == {"Platform": "p2", "Owner": {"Type": "TEAM", "Id": "t"}}
        await client.as_user("user_2").material.describe_class(first_level=True)
        assert sent(r) == {
            "Platform": "1000000009",
            "Owner": {"Type": "PERSON", "Id": "user_2"},
            "FirstLevel": True,
        }
        c = route(router, "Material", "CreateClass").respond(json=ok({"ClassId": 7}))
        await client.material.create_class(name="n", parent_class_id=1)
        assert sent(c)["Owner"] == {"Type": "PERSON", "Id": "user_1"}
        assert "Platform" not in sent(c)  # CreateClass's body has no Platform


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"text": "x" * 16}, "Text", "text: at most 15 characters are allowed, got 16"),
        (
            {"search_scopes": [{"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u"}}] * 6},
            "SearchScopes",
            "search_scopes: at most 5 items are allowed, got 6",
        ),
        ({"material_types": ["VIDOE"]}, "MaterialTypes", "'VIDOE' is not one of the documented"),
        ({"offset": -1}, "Offset", "offset: must be at least 0, got -1"),
        (
            {"search_scopes": [{"Platform": "p", "Owner": {"Type": "PERSN", "Id": "u"}}]},
            "Type",
            "search_scopes[0].owner.type: 'PERSN' is not one of the documented values",
        ),
    ],
)
async def test_documented_limits_are_checked_before_sending(
    kwargs: dict[str, Any], field: str, words: str
) -> None:
    import cme_async

    args: dict[str, Any] = {"search_scopes": []} | kwargs
    async with mocked_client() as (client, router):
        r = route(router, "Material", "SearchMaterial").respond(json=ok({"TotalCount": 0}))
        with pytest.raises(cme_async.RequestValidationError) as info:
            await client.material.search_material(**args)
        assert r.call_count == 0
        assert not router.calls  # not even a login
    error = info.value
    assert isinstance(error, cme_async.InvalidParameterError)
    assert (error.attempts, error.may_have_run, error.field) == (0, False, field)
    assert error.code == "InvalidParameterValue"
    assert error.action == "Material/SearchMaterial"
    assert words in str(error) and "material.search_material" in str(error)


async def test_item_limits_of_a_list_argument() -> None:
    import cme_async

    async with mocked_client() as (client, router):
        r = route(router, "Material", "ModifyMaterial").respond(json=ok())
        with pytest.raises(cme_async.RequestValidationError, match=r"tags: item 1: at most 15"):
            await client.material.modify_material(material_id="m", tags=["ok", "y" * 16])
        await client.material.modify_material(material_id="m", tags=["z" * 15] * 30)
        assert r.call_count == 1
