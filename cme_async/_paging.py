"""One paginator, driven by a page spec that the generator writes for each paged action.

Two kinds of paging exist in the CME client API (reference section 2.9):

* ``offset``: ``Offset``/``Limit`` in the request and a total count in the answer.
  Iteration goes on until the total has been reached or a page comes back empty (CME
  may cap ``Limit`` below what was asked, so a short page alone proves nothing), or
  until ``max_items``.  Without a total in the answer a short page ends it.
  ``ResourceNotFound*`` ends it quietly: ``DescribeProjects`` and ``DescribeTasks``
  answer that (their documented examples) when nothing matches, which for a listing
  means "no (more) items" -- except on the first page of a request that names one
  object (``Pages.one_object_filters``, e.g. ``DescribeTasks`` with ``ProjectId``): then
  it means that object does not exist and ``NotFoundError`` is raised.  Any other
  not-found code (``InvalidParameterValue.ProjectId`` ...) is always raised.
* ``time_window``: ``StartTimeOffset``/``EndTimeOffset`` in the request and
  ``LastTimeOffset`` in the answer ("query again from this time; -1 = the end").
  Iteration stops at ``-1``, when the cursor stops moving forward or reaches the end
  of the window, or at ``max_items``.  Items repeated at a window boundary (same
  item key) are yielded once.

A generated ``iter_*`` method builds the request body (checking its arguments before
any request), names its :class:`Pages` and hands both to :func:`paginate`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

import attrs

from ._converter import parse
from ._errors import MalformedResponseError, NotFoundError
from ._wire import members

__all__ = ["Pages", "paginate"]

T = TypeVar("T")

OffsetFetch = Callable[[int, int], Awaitable[tuple[Sequence[T], float | None]]]
WindowFetch = Callable[[float], Awaitable[tuple[Sequence[T], float | None]]]


@attrs.frozen
class Pages:
    """How one action pages.  ``items``, ``total`` and ``cursor`` are attribute paths
    into the typed answer (``"subtitle_info.subtitle_set"``); ``item_key`` is the item
    attribute that identifies an item repeated at a window boundary."""

    action_class: str
    action_name: str
    response: type
    kind: Literal["offset", "time_window"]
    items: str
    total: str | None = None
    cursor: str | None = None
    item_key: str | None = None
    one_object_filters: tuple[str, ...] = ()
    default_page_size: int | None = None
    max_page_size: int | None = None
    replay_safe: bool = True


def _get(obj: Any, path: str | None) -> Any:
    if path is None:
        return None
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def _wire_path(cl: Any, path: str | None) -> str:
    """``"subtitle_info.last_time_offset"`` of a response class as wire names
    (``"SubtitleInfo.LastTimeOffset"``), for errors about what CME sent."""
    parts = []
    for part in (path or "").split("."):
        parts.append(cl._wire.names[part])
        cl = members(attrs.fields_dict(attrs.resolve_types(cl))[part].type)[0]
    return ".".join(parts)


def _number(value: Any, field: str, action: str) -> float | None:
    """A total or cursor as a number: answers are not type-checked, so ``"25"`` reads as
    25; anything that is not a number stops the iteration with an error naming it."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            pass
    raise MalformedResponseError(
        f"{field} is not a number, so paging cannot go on",
        repr(value),
        action=action,
        http_status=None,
    )


def paginate(
    call: Callable[..., Awaitable[Any]],
    spec: Pages,
    body: dict[str, Any],
    *,
    where: str,
    page_size: int | None = None,
    max_items: int | None = None,
    **options: Any,
) -> AsyncIterator[Any]:
    """Iterate over the items of every page of ``spec``'s action.

    ``call`` is ``AsyncCmeClient.call``; ``options`` (timeout, max_retries, deadline)
    go with each request.  Arguments are checked now, before any request.
    """
    check_max_items(max_items, where)
    key = f"{spec.action_class}/{spec.action_name}"

    async def answer(page_body: dict[str, Any]) -> Any:
        data = await call(
            spec.action_class, spec.action_name, page_body, replay_safe=spec.replay_safe, **options
        )
        return parse(spec.response, data, key)

    if spec.kind == "offset":
        size = page_size_for(page_size, spec.default_page_size, spec.max_page_size, where)

        async def fetch_page(offset: int, limit: int) -> tuple[Sequence[Any], float | None]:
            page = await answer({**body, "Offset": offset, "Limit": limit})
            return _get(page, spec.items) or [], _number(_get(page, spec.total), total, key)

        total = _wire_path(spec.response, spec.total)
        return iter_offset(
            fetch_page,
            offset=body.get("Offset", 0),
            page_size=size,
            max_items=max_items,
            names_one_object=any(body.get(w) is not None for w in spec.one_object_filters),
            action=key,
        )

    cursor = _wire_path(spec.response, spec.cursor)

    async def fetch_window(start: float) -> tuple[Sequence[Any], float | None]:
        page = await answer({**body, "StartTimeOffset": start})
        return _get(page, spec.items) or [], _number(_get(page, spec.cursor), cursor, key)

    item_key = spec.item_key
    return iter_time_window(
        fetch_window,
        start=body.get("StartTimeOffset", 0.0),
        end=body["EndTimeOffset"],
        max_items=max_items,
        key=(lambda item: getattr(item, item_key)) if item_key else None,
        action=key,
    )


def page_size_for(
    page_size: int | None, default: int | None, maximum: int | None, where: str
) -> int:
    """The ``Limit`` each page asks for: the caller's, else the documented default, else the max."""
    if page_size is None:
        return default if default is not None else maximum if maximum is not None else 20
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise TypeError(f"{where}: page_size: expected int, got {type(page_size).__name__}")
    if page_size < 1:
        raise ValueError(f"{where}: page_size must be at least 1, got {page_size}")
    if maximum is not None and page_size > maximum:
        raise ValueError(
            f"{where}: page_size must be at most {maximum} (documented), got {page_size}"
        )
    return page_size


def check_max_items(max_items: int | None, where: str) -> None:
    if max_items is None:
        return
    if isinstance(max_items, bool) or not isinstance(max_items, int):
        raise TypeError(f"{where}: max_items: expected int, got {type(max_items).__name__}")
    if max_items < 0:
        raise ValueError(f"{where}: max_items must not be negative, got {max_items}")


def _means_no_items(error: NotFoundError, first_page: bool, names_one_object: bool) -> bool:
    code = error.code
    generic = code == "ResourceNotFound" or code.startswith("ResourceNotFound.")
    return generic and not (first_page and names_one_object)


async def iter_offset(
    fetch: OffsetFetch[T],
    *,
    offset: int,
    page_size: int,
    max_items: int | None,
    names_one_object: bool = False,
    action: str | None = None,
) -> AsyncIterator[T]:
    """Yield items page by page: ``fetch(offset, limit) -> (items, total)``.

    A page equal to the one before it means the server ignored ``Offset``; that raises
    ``MalformedResponseError`` instead of asking for the same page forever.
    """
    yielded = 0
    first = True
    previous: tuple[int, Sequence[T]] = (0, ())
    while True:
        limit = page_size
        if max_items is not None:
            remaining = max_items - yielded
            if remaining <= 0:
                return
            limit = min(limit, remaining)
        try:
            items, total = await fetch(offset, limit)
        except NotFoundError as exc:
            if _means_no_items(exc, first, names_one_object):
                return
            raise
        first = False
        if items and list(items) == list(previous[1]):
            raise MalformedResponseError(
                f"the page at Offset {offset} repeats the page at Offset {previous[0]} "
                f"(the server ignored Offset); paging stopped after {yielded} items",
                "",
                action=action,
                http_status=None,
            )
        previous = (offset, items)
        for item in items:
            yield item
            yielded += 1
            if max_items is not None and yielded >= max_items:
                return
        offset += len(items)
        if not items:
            return
        if total is None and len(items) < limit:
            return
        if total is not None and offset >= total:
            return


async def iter_time_window(
    fetch: WindowFetch[T],
    *,
    start: float,
    end: float,
    max_items: int | None,
    key: Callable[[T], object] | None = None,
    action: str | None = None,
) -> AsyncIterator[T]:
    """Yield items window by window: ``fetch(start) -> (items, last_time_offset)``.

    A window holding items, every one already yielded, means the server is not moving
    on (it starts the next window at the next unseen item); that raises
    ``MalformedResponseError`` rather than creeping towards ``end`` window after window.
    """
    seen: set[object] = set()
    yielded = 0
    cursor = start
    while True:
        if max_items is not None and yielded >= max_items:
            return
        items, last = await fetch(cursor)
        repeats = 0
        for item in items:
            if key is not None:
                k = key(item)
                if k is not None:
                    if k in seen:
                        repeats += 1
                        continue
                    seen.add(k)
            yield item
            yielded += 1
            if max_items is not None and yielded >= max_items:
                return
        if last is None or last == -1 or last <= cursor or last >= end:
            return
        if items and repeats == len(items):
            raise MalformedResponseError(
                f"the window from {cursor:g} s holds only items already yielded "
                f"(the server is not moving on); paging stopped after {yielded} items",
                "",
                action=action,
                http_status=None,
            )
        cursor = float(last)
