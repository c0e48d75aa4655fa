"""What every handler shares: the call context and the paging and sorting readers.

A handler takes the call context and the JSON body (already checked against the
catalogue) and returns the ``Data`` dict, or ``None`` for actions documented with
no ``Data``; it raises :class:`~cme_async.testing._faults.Fault` for business errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..._catalogue import ActionSpec, catalogue
from .._faults import Fault, invalid
from ..world.model import JSON
from ..world.state import State
from ._read import integer, text


@dataclass(slots=True)
class Ctx:
    """One call: the platform's records, and the identity its ticket was issued for."""

    state: State
    user_id: str
    platform: str
    ai_page_size: int
    spec: ActionSpec | None = None

    def check_platform(
        self, body: Mapping[str, Any], key: str = "Platform", *, required: bool = True
    ) -> None:
        value = text(body, key, required=required)
        if value is not None and value != self.platform:
            raise Fault("InvalidParameterValue.Platform", f"platform not exist: {value}")


Handler = Callable[[Ctx, Mapping[str, Any]], JSON | None]


def offset_limit(ctx: Ctx, body: Mapping[str, Any], fallback_page: int = 10) -> tuple[int, int]:
    """``(offset, limit)``; the default page size is the catalogue's (its minimum and
    maximum were checked before the handler ran), ``fallback_page`` where it names none."""
    default = (ctx.spec.default_page_size if ctx.spec else None) or fallback_page
    offset = integer(body, "Offset", 0)
    limit = integer(body, "Limit", default)
    assert offset is not None and limit is not None
    if limit == 0:  # the service treats 0 as "use the default"
        limit = default
    return offset, limit


def sort_spec(body: Mapping[str, Any], fields: tuple[str, ...]) -> tuple[str, bool]:
    """(field, descending) from an optional ``Sort`` {Field, Order}; default CreateTime Desc."""
    sort = body.get("Sort")
    if sort is None:
        return fields[0], True
    if not isinstance(sort, Mapping):
        raise invalid("Sort", "expected an object")
    field = sort.get("Field", fields[0])
    order = sort.get("Order", "Desc")
    if field not in fields:
        raise invalid("Sort.Field", f"{field!r} is not one of {', '.join(fields)}")
    orders = catalogue().enums["SortOrder"].values
    if order not in orders:
        raise invalid(
            "Sort.Order",
            f"{order!r} is not one of {', '.join(orders)}",
            "InvalidParameterValue.SortOrder",
        )
    return str(field), order == "Desc"
