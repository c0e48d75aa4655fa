"""Request-body checks, from the catalogue only.

``validate_body`` walks an action's ``FieldSpec``s (and the ``StructSpec``s they
name), so every action the catalogue describes is checked for missing required
fields, wrong types, unknown enum values and the documented length, item-count
and range limits before its handler runs.  Handlers restate none of these; they
read the body with the type-only readers of ``handlers/_read.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from .._catalogue import INTEGER_MAX, INTEGER_MIN, ActionSpec, FieldSpec, StructSpec, catalogue
from ._faults import Fault, invalid, missing


def validate_body(spec: ActionSpec, body: Mapping[str, Any]) -> None:
    """Raise the Fault the service answers for the first field of ``body`` that breaks ``spec``."""
    _check_fields(spec.request, body, "", catalogue().structs)


def subcode(path: str) -> str:
    """``InvalidParameterValue.<Field>`` where the catalogue documents that code
    (``specs/errors.yaml``), else ``InvalidParameterValue``."""
    code = f"InvalidParameterValue.{path}"
    return code if code in catalogue().error_codes else "InvalidParameterValue"


def _check_fields(
    fields: Sequence[FieldSpec],
    body: Mapping[str, Any],
    prefix: str,
    structs: Mapping[str, StructSpec],
) -> None:
    for spec in fields:
        value = body.get(spec.wire, None)
        if value is None:
            for alias in spec.aliases:
                value = body.get(alias)
                if value is not None:
                    break
        if value is None:
            if spec.required:
                raise missing(prefix + spec.wire)
            continue
        _check_value(spec, spec.type, value, prefix + spec.wire, structs)


@functools.cache
def _parse_type(type_expr: str) -> tuple[str | None, tuple[str, ...]]:
    """``(inner, ())`` for ``list[inner]``, else ``(None, options)`` of a ``a|b`` union."""
    compact = type_expr.replace(" ", "")
    if compact.startswith("list[") and compact.endswith("]"):
        return compact[5:-1], ()
    return None, tuple(compact.split("|"))


def _check_value(
    spec: FieldSpec,
    type_expr: str,
    value: Any,
    path: str,
    structs: Mapping[str, StructSpec],
    *,
    item: bool = False,
) -> None:
    inner, options = _parse_type(type_expr)
    if inner is not None:
        if not isinstance(value, list):
            raise invalid(path, "expected an array", subcode(path))
        if spec.max_items is not None and len(value) > spec.max_items:
            raise invalid(path, f"at most {spec.max_items} items allowed", subcode(path))
        for n, entry in enumerate(value):
            _check_value(spec, inner, entry, f"{path}[{n}]", structs, item=True)
        return
    lists = [o for o in options if o.startswith("list[")]
    if lists:  # a union such as string|list[string]: a list is read as the list option
        if isinstance(value, list):
            _check_value(spec, lists[0], value, path, structs, item=item)
            return
        options = tuple(o for o in options if o not in lists)
    for option in options:
        if _type_error(option, value) is None:
            break
    else:
        errors = " or ".join(str(_type_error(option, value)) for option in options)
        errors += " or an array" if lists else ""
        raise invalid(path, errors, subcode(path.split("[")[0]))
    if spec.enum and isinstance(value, str | int) and str(value) not in spec.enum:
        allowed = ", ".join(spec.enum)
        raise invalid(path, f"{value!r} is not one of {allowed}", subcode(path.split("[")[0]))
    longest = spec.item_max_length if item else spec.max_length
    if longest is not None and isinstance(value, str) and len(value) > longest:
        raise invalid(path, f"longer than {longest} characters", subcode(path.split("[")[0]))
    if isinstance(value, int | float) and not isinstance(value, bool):
        _check_range(spec, value, path)
    if isinstance(value, Mapping) and len(options) == 1:
        struct = structs.get(options[0])
        if struct is not None:
            _check_fields(struct.fields, value, path + ".", structs)


def _check_range(spec: FieldSpec, value: float, path: str) -> None:
    top = path.split("[")[0]
    if spec.maximum is not None and value > spec.maximum:
        if top == "Limit":
            raise Fault("InvalidParameterValue.Limit")
        raise invalid(path, f"greater than {spec.maximum:g}", subcode(top))
    if spec.minimum is not None and value < spec.minimum:
        raise invalid(path, f"less than {spec.minimum:g}", subcode(top))


def _type_error(type_name: str, value: Any) -> str | None:
    if type_name in ("string", "str"):
        return None if isinstance(value, str) else "expected a string"
    if type_name in ("integer", "int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and not INTEGER_MIN <= value <= INTEGER_MAX:
            return "expected a 64-bit integer"
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
