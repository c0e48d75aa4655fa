"""Paginator helpers used by the generated ``iter_*`` methods.

Two kinds of paging exist in the CME client API (reference section 2.9):

* ``offset``: ``Offset``/``Limit`` in the request and a total count in the answer.
  Iteration stops at the total, at a short or empty page, or at ``max_items``. An
  answer of ``ResourceNotFound*`` ends it too: ``DescribeProjects`` and ``DescribeTasks``
  answer that (their documented examples) when nothing matches, which for a listing
  means "no (more) items". The typed methods themselves still raise it.
* ``time_window``: ``StartTimeOffset``/``EndTimeOffset`` in the request and
  ``LastTimeOffset`` in the answer ("query again from this time; -1 = the end").
  Iteration stops at ``-1``, when the cursor stops moving forward or reaches the end
  of the window, or at ``max_items``.  Items repeated at a window boundary (same
  item key) are yielded once.

The generated methods validate their arguments eagerly (before the first request),
then hand a ``fetch`` coroutine function to these helpers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from ._errors import NotFoundError

T = TypeVar("T")

OffsetFetch = Callable[[int, int], Awaitable[tuple[Sequence[T], int | None]]]
WindowFetch = Callable[[float], Awaitable[tuple[Sequence[T], float | None]]]


def page_size_for(
    page_size: int | None, default: int | None, maximum: int | None, where: str
) -> int:
    """The ``Limit`` each page asks for: the caller's, else the documented default, else the max."""
    if page_size is None:
        size = default if default is not None else maximum if maximum is not None else 20
        return size
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


async def iter_offset(
    fetch: OffsetFetch[T], *, offset: int, page_size: int, max_items: int | None
) -> AsyncIterator[T]:
    """Yield items page by page: ``fetch(offset, limit) -> (items, total)``."""
    yielded = 0
    while True:
        limit = page_size
        if max_items is not None:
            remaining = max_items - yielded
            if remaining <= 0:
                return
            limit = min(limit, remaining)
        try:
            items, total = await fetch(offset, limit)
        except NotFoundError:
            return
        for item in items:
            yield item
            yielded += 1
            if max_items is not None and yielded >= max_items:
                return
        offset += len(items)
        if len(items) < limit or (total is not None and offset >= total):
            return


async def iter_time_window(
    fetch: WindowFetch[T],
    *,
    start: float,
    end: float,
    max_items: int | None,
    key: Callable[[T], object] | None = None,
) -> AsyncIterator[T]:
    """Yield items window by window: ``fetch(start) -> (items, last_time_offset)``."""
    seen: set[object] = set()
    yielded = 0
    cursor = start
    while True:
        if max_items is not None and yielded >= max_items:
            return
        items, last = await fetch(cursor)
        for item in items:
            if key is not None:
                k = key(item)
                if k is not None:
                    if k in seen:
                        continue
                    seen.add(k)
            yield item
            yielded += 1
            if max_items is not None and yielded >= max_items:
                return
        if last is None or last == -1 or last <= cursor or last >= end:
            return
        cursor = float(last)
