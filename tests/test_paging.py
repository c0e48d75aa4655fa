"""Generated paginators: offset paging and time-window paging across several pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cme_async import MalformedResponseError, RawResult, _paging
from cme_async._generated.models import FrameTagItem, MaterialInfo, SubtitleItem, TaskInfo
from cme_async._generated.namespaces import MaterialActions, TaskActions


class FakeClient:
    """Answers each ``call`` from a function of the body; records every body."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any]) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []
        self.options: list[tuple[Any, Any, Any]] = []

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
        assert replay_safe is True  # every paged action is replay-safe; the method says so
        self.bodies.append(dict(body))
        self.options.append((timeout, max_retries, deadline))
        return self.answer(body)

    async def call_raw(self, *args: Any, **kwargs: Any) -> Any:
        """Typed methods with a result ask for the request id too."""
        return RawResult(await self.call(*args, **kwargs), "req-fake", 200, 1)


def offset_answers(total: int, *, items_key: str, total_key: str | None, make: Any) -> Any:
    def answer(body: dict[str, Any]) -> dict[str, Any]:
        start, limit = body["Offset"], body["Limit"]
        data: dict[str, Any] = {
            items_key: [make(i) for i in range(start, min(start + limit, total))]
        }
        if total_key:
            data[total_key] = total
        return data

    return answer


def material(i: int) -> dict[str, Any]:
    return {"BasicInfo": {"MaterialId": f"m{i}"}}


async def test_offset_stops_at_total_after_three_pages() -> None:
    fake = FakeClient(
        offset_answers(7, items_key="MaterialInfoSet", total_key="TotalCount", make=material)
    )
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    found = [
        m
        async for m in actions.iter_search_material(
            search_scopes=[{"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u"}}],
            text="cat",
            page_size=3,
            timeout=2.0,
        )
    ]
    assert all(isinstance(m, MaterialInfo) for m in found)
    assert [m.basic_info.material_id for m in found if m.basic_info] == [f"m{i}" for i in range(7)]
    assert [(b["Offset"], b["Limit"]) for b in fake.bodies] == [(0, 3), (3, 3), (6, 3)]
    assert all(b["Text"] == "cat" and len(b["SearchScopes"]) == 1 for b in fake.bodies)
    assert fake.options == [(2.0, None, None)] * 3


async def test_offset_exact_multiple_of_the_total_stops_without_an_empty_page() -> None:
    fake = FakeClient(
        offset_answers(6, items_key="MaterialInfoSet", total_key="TotalCount", make=material)
    )
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    scopes = [{"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u"}}]
    assert (
        len([m async for m in actions.iter_search_material(search_scopes=scopes, page_size=2)]) == 6
    )
    assert len(fake.bodies) == 3


async def test_offset_stops_at_a_short_page_without_a_total() -> None:
    fake = FakeClient(
        offset_answers(
            7, items_key="TaskInfoSet", total_key=None, make=lambda i: {"TaskId": f"t{i}"}
        )
    )
    tasks = [t async for t in TaskActions(fake).iter_describe_tasks(project_id="p", page_size=3)]  # type: ignore[arg-type]
    assert all(isinstance(t, TaskInfo) for t in tasks)
    assert [t.task_id for t in tasks] == [f"t{i}" for i in range(7)]
    assert [(b["Offset"], b["Limit"], b["ProjectId"]) for b in fake.bodies] == [
        (0, 3, "p"),
        (3, 3, "p"),
        (6, 3, "p"),
    ]


async def test_offset_default_page_size_start_offset_and_max_items() -> None:
    fake = FakeClient(
        offset_answers(
            500, items_key="TaskInfoSet", total_key="TotalCount", make=lambda i: {"TaskId": f"t{i}"}
        )
    )
    tasks = TaskActions(fake)  # type: ignore[arg-type]
    found = [t.task_id async for t in tasks.iter_describe_tasks(offset=10, max_items=65)]
    assert found == [f"t{i}" for i in range(10, 75)]
    # DescribeTasks documents no default, only a maximum of 30: pages of 30, the last one trimmed.
    assert [(b["Offset"], b["Limit"]) for b in fake.bodies] == [(10, 30), (40, 30), (70, 5)]


async def test_offset_empty_first_page() -> None:
    fake = FakeClient(lambda body: {"TotalCount": 0})
    tasks = TaskActions(fake)  # type: ignore[arg-type]
    assert [t async for t in tasks.iter_describe_tasks()] == []
    assert len(fake.bodies) == 1


def test_offset_arguments_are_checked_before_any_request() -> None:
    fake = FakeClient(lambda body: {})
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iter_search_material: search_scopes"):
        actions.iter_search_material(search_scopes=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="page_size must be at least 1"):
        actions.iter_search_material(search_scopes=[], page_size=0)
    with pytest.raises(ValueError, match="max_items must not be negative"):
        actions.iter_search_material(search_scopes=[], max_items=-1)
    with pytest.raises(TypeError, match="page_size: expected int"):
        actions.iter_search_material(search_scopes=[], page_size="10")  # type: ignore[arg-type]
    assert fake.bodies == []


def windows(pages: list[tuple[list[str], float | None]], info: str, items: str) -> Any:
    """Answers keyed by StartTimeOffset: each page lists item ids and its LastTimeOffset."""
    by_start: dict[float, tuple[list[str], float | None]] = {}
    start = 0.0
    for ids, last in pages:
        by_start[start] = (ids, last)
        start = last if last is not None else start

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        ids, last = by_start[body["StartTimeOffset"]]
        block: dict[str, Any] = {"Version": "v", items: [{"ItemId": i, "Text": i} for i in ids]}
        if last is not None:
            block["LastTimeOffset"] = last
        return {info: block}

    return answer


async def test_time_window_three_windows_until_minus_one() -> None:
    fake = FakeClient(
        windows([(["a", "b"], 10), (["b", "c"], 20.5), (["d"], -1)], "SubtitleInfo", "SubtitleSet")
    )
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    found = [
        s
        async for s in actions.iter_describe_material_subtitle(
            material_id="m",
            end_time_offset=100.0,
            max_retries=1,
        )
    ]
    assert all(isinstance(s, SubtitleItem) for s in found)
    # "b" straddles the window boundary and is yielded once.
    assert [s.item_id for s in found] == ["a", "b", "c", "d"]
    assert fake.bodies == [
        {"MaterialId": "m", "StartTimeOffset": 0.0, "EndTimeOffset": 100.0},
        {"MaterialId": "m", "StartTimeOffset": 10.0, "EndTimeOffset": 100.0},
        {"MaterialId": "m", "StartTimeOffset": 20.5, "EndTimeOffset": 100.0},
    ]
    assert fake.options == [(None, 1, None)] * 3


async def test_time_window_frame_tags_keep_only_manual_and_stop_at_the_end() -> None:
    fake = FakeClient(
        windows(
            [(["a"], 30), (["b"], 60), (["c"], 90), (["never"], -1)], "FrameTagInfo", "FrameTagSet"
        )
    )
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    found = [
        t.item_id
        async for t in actions.iter_describe_material_frame_tag(
            material_id="m",
            end_time_offset=90.0,
            only_manual=True,
        )
    ]
    assert found == ["a", "b", "c"]  # LastTimeOffset reached the end of the window
    assert [b["StartTimeOffset"] for b in fake.bodies] == [0.0, 30, 60]
    assert all(b["OnlyManual"] is True for b in fake.bodies)


async def test_time_window_stops_when_the_cursor_does_not_move_or_is_missing() -> None:
    stuck = FakeClient(
        lambda body: {"TextInfo": {"TextSet": [{"ItemId": "x"}], "LastTimeOffset": 0}}
    )
    actions = MaterialActions(stuck)  # type: ignore[arg-type]
    found = [
        t
        async for t in actions.iter_describe_text_in_material(material_id="m", end_time_offset=9.0)
    ]
    assert [t.item_id for t in found] == ["x"]
    assert len(stuck.bodies) == 1

    empty = FakeClient(lambda body: {})
    actions = MaterialActions(empty)  # type: ignore[arg-type]
    assert [
        t
        async for t in actions.iter_describe_text_in_material(material_id="m", end_time_offset=9.0)
    ] == []
    assert len(empty.bodies) == 1


async def test_time_window_max_items_and_start() -> None:
    fake = FakeClient(
        windows([(["a", "b"], 10), (["c", "d"], 20), (["e"], -1)], "FrameTagInfo", "FrameTagSet")
    )
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    found = [
        t
        async for t in actions.iter_describe_material_frame_tag(
            material_id="m",
            end_time_offset=100.0,
            max_items=3,
        )
    ]
    assert all(isinstance(t, FrameTagItem) for t in found)
    assert [t.item_id for t in found] == ["a", "b", "c"]
    assert len(fake.bodies) == 2


async def test_helpers_directly() -> None:
    pages = {0: ([1, 2], 5), 2: ([3, 4], 5), 4: ([5], 5)}

    async def fetch(offset: int, limit: int) -> tuple[list[int], int | None]:
        return pages[offset]

    assert [x async for x in _paging.iter_offset(fetch, offset=0, page_size=2, max_items=None)] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert _paging.page_size_for(None, None, None, "w") == 20
    assert _paging.page_size_for(None, 50, None, "w") == 50
    assert _paging.page_size_for(None, None, 30, "w") == 30


async def test_offset_not_found_means_no_more_items() -> None:
    import cme_async

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        if body["Offset"] >= 4:
            raise cme_async.NotFoundError(
                "ResourceNotFound", "", "resource not found", action="Task/DescribeTasks"
            )
        return {
            "TotalCount": None,
            "TaskInfoSet": [
                {"TaskId": f"t{body['Offset'] + i}", "Status": "SUCCESS"} for i in range(2)
            ],
        }

    tasks = TaskActions(FakeClient(answer))  # type: ignore[arg-type]
    ids = [t.task_id async for t in tasks.iter_describe_tasks(page_size=2)]
    assert ids == ["t0", "t1", "t2", "t3"]

    def nothing(body: dict[str, Any]) -> dict[str, Any]:
        raise cme_async.NotFoundError("ResourceNotFound", action="Task/DescribeTasks")

    empty = TaskActions(FakeClient(nothing))  # type: ignore[arg-type]
    assert [t async for t in empty.iter_describe_tasks()] == []
    with pytest.raises(cme_async.NotFoundError):
        await empty.describe_tasks()


async def test_offset_goes_on_past_capped_pages_until_the_total() -> None:
    """CME may cap Limit below what was asked: short pages go on until TotalCount."""

    def capped(body: dict[str, Any]) -> dict[str, Any]:
        start = body["Offset"]
        items = [{"TaskId": f"t{i}"} for i in range(start, min(start + 20, 45))]  # cap: 20
        return {"TotalCount": 45, "TaskInfoSet": items}

    fake = FakeClient(capped)
    found = [t.task_id async for t in TaskActions(fake).iter_describe_tasks(page_size=30)]  # type: ignore[arg-type]
    assert found == [f"t{i}" for i in range(45)]
    assert [(b["Offset"], b["Limit"]) for b in fake.bodies] == [(0, 30), (20, 30), (40, 30)]


async def test_offset_stops_at_an_empty_page_even_if_the_total_says_more() -> None:
    def short(body: dict[str, Any]) -> dict[str, Any]:
        start = body["Offset"]
        return {"TotalCount": 10, "TaskInfoSet": [{"TaskId": "t"}] * (3 if start == 0 else 0)}

    fake = FakeClient(short)
    assert len([t async for t in TaskActions(fake).iter_describe_tasks(page_size=5)]) == 3  # type: ignore[arg-type]
    assert len(fake.bodies) == 2


async def test_not_found_for_a_named_object_is_raised_not_an_empty_listing() -> None:
    import cme_async

    def missing(body: dict[str, Any]) -> dict[str, Any]:
        raise cme_async.NotFoundError("ResourceNotFound", action="Task/DescribeTasks")

    tasks = TaskActions(FakeClient(missing))  # type: ignore[arg-type]
    # Nothing matches a listing: no items.
    assert [t async for t in tasks.iter_describe_tasks(status_set=["FAIL"])] == []
    # A filter naming one object that does not exist: NotFoundError.
    with pytest.raises(cme_async.NotFoundError):
        [t async for t in tasks.iter_describe_tasks(project_id="no-such-project")]
    with pytest.raises(cme_async.NotFoundError):
        [t async for t in tasks.iter_describe_tasks(material_id="no-such-material")]

    def project_code(body: dict[str, Any]) -> dict[str, Any]:
        raise cme_async.NotFoundError("InvalidParameterValue.ProjectId", action="x")

    # A not-found code other than ResourceNotFound always names the missing object.
    other = TaskActions(FakeClient(project_code))  # type: ignore[arg-type]
    with pytest.raises(cme_async.NotFoundError):
        [t async for t in other.iter_describe_tasks()]


# ---- a hostile server: pages that never end, totals that are not numbers -----------

SCOPES = [{"Platform": "p", "Owner": {"Type": "PERSON", "Id": "u"}}]


async def test_a_server_that_ignores_offset_is_stopped_with_a_clear_error() -> None:
    """Every page the same full page (CME ignoring Offset): an error after the repeat,
    not an endless loop."""

    def same_page(body: dict[str, Any]) -> dict[str, Any]:
        assert len(same.bodies) < 10, "the paginator kept asking for the same page"
        return {"TotalCount": 10**9, "MaterialInfoSet": [material(i) for i in range(3)]}

    same = FakeClient(same_page)
    actions = MaterialActions(same)  # type: ignore[arg-type]
    found: list[Any] = []
    with pytest.raises(MalformedResponseError, match=r"Offset 3 repeats the page at Offset 0"):
        async for m in actions.iter_search_material(search_scopes=SCOPES, page_size=3):
            found.append(m)
    assert len(found) == 3 and len(same.bodies) == 2


@pytest.mark.parametrize("total", ["7", 7.0])
async def test_a_total_sent_as_a_string_or_float_still_pages(total: Any) -> None:
    fake = FakeClient(offset_answers(7, items_key="MaterialInfoSet", total_key=None, make=material))
    answer = fake.answer
    fake.answer = lambda body: {**answer(body), "TotalCount": total}
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    found = [m async for m in actions.iter_search_material(search_scopes=SCOPES, page_size=3)]
    assert len(found) == 7 and len(fake.bodies) == 3


async def test_a_total_that_is_not_a_number_names_the_field() -> None:
    fake = FakeClient(lambda body: {"TotalCount": "many", "MaterialInfoSet": [material(0)]})
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    with pytest.raises(MalformedResponseError, match=r"TotalCount.*'many'"):
        [m async for m in actions.iter_search_material(search_scopes=SCOPES)]


async def test_a_cursor_that_is_not_a_number_names_the_field() -> None:
    fake = FakeClient(
        lambda body: {"SubtitleInfo": {"SubtitleSet": [{"ItemId": "a"}], "LastTimeOffset": "x"}}
    )
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    with pytest.raises(MalformedResponseError, match=r"LastTimeOffset.*'x'"):
        [
            s
            async for s in actions.iter_describe_material_subtitle(
                material_id="m", end_time_offset=100.0
            )
        ]

    def numeric_cursor(body: dict[str, Any]) -> dict[str, Any]:
        first = body["StartTimeOffset"] == 0
        return {
            "SubtitleInfo": {
                "SubtitleSet": [{"ItemId": "a" if first else "b"}],
                "LastTimeOffset": "10" if first else -1,
            }
        }

    actions = MaterialActions(FakeClient(numeric_cursor))  # type: ignore[arg-type]
    found = [
        s.item_id
        async for s in actions.iter_describe_material_subtitle(
            material_id="m", end_time_offset=99.0
        )
    ]
    assert found == ["a", "b"]


async def test_windows_that_repeat_only_seen_items_are_stopped_with_a_clear_error() -> None:
    """A cursor that creeps forward while every window repeats the same item yielded
    nothing new, window after window, up to the end of a long range."""

    def creeping(body: dict[str, Any]) -> dict[str, Any]:
        assert len(fake.bodies) < 10, "the paginator kept asking"
        start = body["StartTimeOffset"]
        return {
            "SubtitleInfo": {"SubtitleSet": [{"ItemId": "same"}], "LastTimeOffset": start + 0.001}
        }

    fake = FakeClient(creeping)
    actions = MaterialActions(fake)  # type: ignore[arg-type]
    found: list[Any] = []
    with pytest.raises(MalformedResponseError, match=r"only items already yielded"):
        async for s in actions.iter_describe_material_subtitle(
            material_id="m", end_time_offset=10_000.0
        ):
            found.append(s)
    assert [s.item_id for s in found] == ["same"] and len(fake.bodies) == 2
