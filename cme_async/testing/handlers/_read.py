"""Typed readers of a request body, for handlers.

They check types only (a handler stays safe for an action the catalogue does not
describe); every documented limit (lengths, item counts, ranges, enums) is enforced
before the handler runs, by ``_validate.validate_body`` from the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._catalogue import catalogue
from .._faults import invalid, missing
from .._validate import subcode
from ..world.model import OwnerKey


def text(body: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return None
    if not isinstance(value, str):
        raise invalid(key, "expected a string", subcode(key))
    if required and not value:
        raise missing(key)
    return value


def need_text(body: Mapping[str, Any], key: str) -> str:
    value = text(body, key, required=True)
    assert value is not None
    return value


def integer(
    body: Mapping[str, Any], key: str, default: int | None = None, *, required: bool = False
) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return default
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)  # ClassId is typed String in SearchScope, Integer elsewhere
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(key, "expected an integer", subcode(key))
    return value


def need_int(body: Mapping[str, Any], key: str) -> int:
    value = integer(body, key, required=True)
    assert value is not None
    return value


def number(body: Mapping[str, Any], key: str, *, required: bool = False) -> float | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(key, "expected a number", subcode(key))
    return float(value)


def boolean(body: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(key, "expected a boolean", subcode(key))
    return value


def strings(body: Mapping[str, Any], key: str, *, required: bool = False) -> list[str]:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return []
    if not isinstance(value, list):
        raise invalid(key, "expected an array", subcode(key))
    if required and not value:
        raise missing(key)
    for n, item in enumerate(value):
        if not isinstance(item, str):
            raise invalid(f"{key}[{n}]", "expected a string", subcode(key))
    return list(value)


def obj(body: Mapping[str, Any], key: str, *, required: bool = False) -> Mapping[str, Any] | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return None
    if not isinstance(value, Mapping):
        raise invalid(key, "expected an object", subcode(key))
    return value


def entity(body: Mapping[str, Any], key: str, *, required: bool = True) -> OwnerKey:
    value = obj(body, key, required=required)
    if value is None:
        raise missing(key)
    kind, ident = value.get("Type"), value.get("Id")
    if kind is None:
        raise missing(f"{key}.Type")
    kinds = catalogue().enums["EntityType"].values
    if kind not in kinds:
        raise invalid(
            f"{key}.Type",
            f"{kind!r} is not one of {', '.join(kinds)}",
            "InvalidParameterValue.OwnerType",
        )
    if not isinstance(ident, str) or not ident:
        raise (
            missing(f"{key}.Id")
            if ident is None
            else invalid(
                f"{key}.Id", "expected a non-empty string", "InvalidParameterValue.OwnerId"
            )
        )
    return (kind, ident)


def objects(
    body: Mapping[str, Any], key: str, *, required: bool = False
) -> list[Mapping[str, Any]]:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise invalid(key, "expected an array of objects", subcode(key))
    if required and not value:
        raise missing(key)
    return list(value)
