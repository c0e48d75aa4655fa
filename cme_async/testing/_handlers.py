"""The handler registry: one function per documented action, keyed ``Class/Name``.

A handler takes the call context and the JSON body and returns the ``Data``
dict (or ``None`` for actions documented with no ``Data``); it raises
:class:`~cme_async.testing._faults.Fault` for business errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._faults import Fault, invalid
from ._model import JSON
from ._state import State
from ._validate import text


@dataclass(slots=True)
class Ctx:
    state: State
    user_id: str
    platform: str
    ai_page_size: int

    def check_platform(
        self, body: Mapping[str, Any], key: str = "Platform", *, required: bool = True
    ) -> None:
        value = text(body, key, required=required)
        if value is not None and value != self.platform:
            raise Fault("InvalidParameterValue.Platform", f"platform not exist: {value}")


Handler = Callable[[Ctx, Mapping[str, Any]], JSON | None]
HANDLERS: dict[str, Handler] = {}


def action(action_class: str, action_name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[f"{action_class}/{action_name}"] = fn
        return fn

    return register


def handlers() -> dict[str, Handler]:
    """Every registered handler (importing the modules that define them)."""
    from . import _h_ai, _h_material, _h_project  # noqa: F401  (registration side effect)

    return HANDLERS


def offset_limit(
    body: Mapping[str, Any], default_limit: int, max_limit: int | None
) -> tuple[int, int]:
    from ._validate import integer

    offset = integer(body, "Offset", 0)
    limit = integer(body, "Limit", default_limit)
    assert offset is not None and limit is not None
    if offset < 0:
        raise invalid("Offset", "must not be negative", "InvalidParameterValue.Offset")
    if limit < 0:
        raise invalid("Limit", "must not be negative", "InvalidParameterValue.Limit")
    if max_limit is not None and limit > max_limit:
        raise Fault("InvalidParameterValue.Limit")
    if limit == 0:  # the service treats 0 as "use the default"
        limit = default_limit
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
    if order not in ("Asc", "Desc"):
        raise invalid(
            "Sort.Order", f"{order!r} is not one of Asc, Desc", "InvalidParameterValue.SortOrder"
        )
    return str(field), order == "Desc"
