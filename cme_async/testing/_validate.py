"""Request-body checks: generic ones from the catalogue, typed accessors for handlers.

``validate_body`` walks an action's ``FieldSpec``s (and the ``StructSpec``s they
name) so that any action the catalogue describes is checked for missing
required fields, wrong types, unknown enum values and length/size/range limits
without emulator code of its own.  The accessors (``text``, ``integer`` …) are
what handlers use to read a body; they raise the same faults, so a handler is
safe even for an action the catalogue does not (yet) describe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._catalogue import ActionSpec, FieldSpec, StructSpec
from ._faults import Fault, invalid, missing
from ._model import OwnerKey

# Documented ``InvalidParameterValue.<Field>`` sub-codes, used when that top-level field is bad.
_SUBCODES = frozenset(
    {
        "Limit",
        "Offset",
        "Name",
        "Platform",
        "Definition",
        "MaterialId",
        "ProjectId",
        "Category",
        "CategorySet",
        "TaskId",
        "UploadContext",
    }
)
_catalogue_cache: tuple[Mapping[str, ActionSpec], Mapping[str, StructSpec]] | None = None


def catalogue() -> tuple[Mapping[str, ActionSpec], Mapping[str, StructSpec]]:
    """``(ACTIONS, STRUCTS)`` of the generated catalogue; empty until it is generated."""
    global _catalogue_cache
    if _catalogue_cache is None:
        try:
            import importlib

            generated = importlib.import_module("cme_async._generated.catalogue")
        except ImportError:
            _catalogue_cache = ({}, {})
        else:
            actions: Mapping[str, ActionSpec] = getattr(generated, "ACTIONS", {})
            structs: Mapping[str, StructSpec] = getattr(generated, "STRUCTS", {})
            _catalogue_cache = (actions, structs)
    return _catalogue_cache


def validate_body(spec: ActionSpec, body: Mapping[str, Any]) -> None:
    _, structs = catalogue()
    _check_fields(spec.request, body, "", structs)


def _code(path: str) -> str:
    return f"InvalidParameterValue.{path}" if path in _SUBCODES else "InvalidParameterValue"


def _check_fields(
    fields: Sequence[FieldSpec],
    body: Mapping[str, Any],
    prefix: str,
    structs: Mapping[str, StructSpec],
) -> None:
    for spec in fields:
        path = prefix + spec.wire
        value = body.get(spec.wire, None)
        if value is None:
            for alias in spec.aliases:
                value = body.get(alias)
                if value is not None:
                    break
        if value is None:
            if spec.required:
                raise missing(path)
            continue
        _check_value(spec, spec.type.replace(" ", ""), value, path, structs)


def _check_value(
    spec: FieldSpec, type_expr: str, value: Any, path: str, structs: Mapping[str, StructSpec]
) -> None:
    if type_expr.startswith("list[") and type_expr.endswith("]"):
        if not isinstance(value, list):
            raise invalid(path, "expected an array", _code(path))
        if spec.max_items is not None and len(value) > spec.max_items:
            raise invalid(path, f"at most {spec.max_items} items allowed", _code(path))
        inner = type_expr[5:-1]
        for n, item in enumerate(value):
            _check_value(spec, inner, item, f"{path}[{n}]", structs)
        return
    options = type_expr.split("|")
    errors = []
    for option in options:
        why = _type_error(option, value)
        if why is None:
            break
        errors.append(why)
    else:
        raise invalid(path, " or ".join(errors), _code(path.split("[")[0]))
    top = path.split("[")[0]
    if spec.enum and isinstance(value, str | int) and str(value) not in spec.enum:
        allowed = ", ".join(spec.enum)
        raise invalid(path, f"{value!r} is not one of {allowed}", _code(top))
    if spec.max_length is not None and isinstance(value, str) and len(value) > spec.max_length:
        raise invalid(path, f"longer than {spec.max_length} characters", _code(top))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.maximum is not None and value > spec.maximum:
            if top == "Limit":
                raise Fault("InvalidParameterValue.Limit")
            raise invalid(path, f"greater than {spec.maximum:g}", _code(top))
        if spec.minimum is not None and value < spec.minimum:
            raise invalid(path, f"less than {spec.minimum:g}", _code(top))
    struct = structs.get(type_expr)
    if struct is not None and isinstance(value, Mapping):
        _check_fields(struct.fields, value, path + ".", structs)


def _type_error(type_name: str, value: Any) -> str | None:
    if type_name in ("string", "str"):
        return None if isinstance(value, str) else "expected a string"
    if type_name in ("integer", "int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "expected an integer"
    if type_name in ("float", "number"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "expected a number"
    if type_name in ("boolean", "bool"):
        return None if isinstance(value, bool) else "expected a boolean"
    if type_name == "any":
        return None
    # A structure name.
    return None if isinstance(value, Mapping) else f"expected an object ({type_name})"


# ---- typed accessors for handlers ------------------------------------------------


def text(
    body: Mapping[str, Any],
    key: str,
    *,
    required: bool = False,
    max_len: int | None = None,
    choices: Sequence[str] = (),
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return None
    if not isinstance(value, str):
        raise invalid(key, "expected a string", _code(key))
    if required and not value:
        raise missing(key)
    if max_len is not None and len(value) > max_len:
        raise invalid(key, f"longer than {max_len} characters", _code(key))
    if choices and value not in choices:
        raise invalid(key, f"{value!r} is not one of {', '.join(choices)}", _code(key))
    return value


def need_text(body: Mapping[str, Any], key: str, **kw: Any) -> str:
    value = text(body, key, required=True, **kw)
    assert value is not None
    return value


def integer(
    body: Mapping[str, Any],
    key: str,
    default: int | None = None,
    *,
    required: bool = False,
    lo: int | None = None,
    hi: int | None = None,
) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return default
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)  # ClassId is typed String in SearchScope, Integer elsewhere
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(key, "expected an integer", _code(key))
    if hi is not None and value > hi:
        if key == "Limit":
            raise Fault("InvalidParameterValue.Limit")
        raise invalid(key, f"greater than {hi}", _code(key))
    if lo is not None and value < lo:
        raise invalid(key, f"less than {lo}", _code(key))
    return value


def need_int(body: Mapping[str, Any], key: str, **kw: Any) -> int:
    value = integer(body, key, required=True, **kw)
    assert value is not None
    return value


def number(body: Mapping[str, Any], key: str, *, required: bool = False) -> float | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(key, "expected a number", _code(key))
    return float(value)


def boolean(body: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(key, "expected a boolean", _code(key))
    return value


def strings(
    body: Mapping[str, Any],
    key: str,
    *,
    required: bool = False,
    max_items: int | None = None,
    choices: Sequence[str] = (),
    max_len: int | None = None,
) -> list[str]:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return []
    if not isinstance(value, list):
        raise invalid(key, "expected an array", _code(key))
    if required and not value:
        raise missing(key)
    if max_items is not None and len(value) > max_items:
        raise invalid(key, f"at most {max_items} items allowed", _code(key))
    for n, item in enumerate(value):
        if not isinstance(item, str):
            raise invalid(f"{key}[{n}]", "expected a string", _code(key))
        if choices and item not in choices:
            raise invalid(f"{key}[{n}]", f"{item!r} is not one of {', '.join(choices)}", _code(key))
        if max_len is not None and len(item) > max_len:
            raise invalid(f"{key}[{n}]", f"longer than {max_len} characters", _code(key))
    return list(value)


def obj(body: Mapping[str, Any], key: str, *, required: bool = False) -> Mapping[str, Any] | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return None
    if not isinstance(value, Mapping):
        raise invalid(key, "expected an object", _code(key))
    return value


def entity(body: Mapping[str, Any], key: str, *, required: bool = True) -> OwnerKey:
    value = obj(body, key, required=required)
    if value is None:
        raise missing(key)
    kind, ident = value.get("Type"), value.get("Id")
    if kind is None:
        raise missing(f"{key}.Type")
    if kind not in ("PERSON", "TEAM"):
        raise invalid(
            f"{key}.Type", f"{kind!r} is not one of PERSON, TEAM", "InvalidParameterValue.OwnerType"
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
    body: Mapping[str, Any], key: str, *, required: bool = False, max_items: int | None = None
) -> list[Mapping[str, Any]]:
    value = body.get(key)
    if value is None:
        if required:
            raise missing(key)
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise invalid(key, "expected an array of objects", _code(key))
    if required and not value:
        raise missing(key)
    if max_items is not None and len(value) > max_items:
        raise invalid(key, f"at most {max_items} items allowed", _code(key))
    return list(value)
