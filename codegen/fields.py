"""Field-level validation of the YAML catalogue: one field entry -> a ``FieldSpec``.

Shared by ``codegen.loader`` for request, response and structure fields; errors name
the file, the owner (action or structure) and the field.
"""

from __future__ import annotations

import keyword
from typing import Any

from cme_async._catalogue import EnumSpec, FieldSpec
from codegen.schema import CatalogueError, TypeExpr, parse_type, snake, texpr

# Names a field's attribute must not take: the model's own (``unknown_fields``,
# ``request_id``, ``to_dict`` ...), the call options every method and paginator adds
# (``timeout`` ...), and the generated methods' locals (``body``, ``raw``).
RESERVED_ATTRS = {
    "unknown_fields",
    "request_id",
    "to_dict",
    "to_json",
    "from_dict",
    "timeout",
    "max_retries",
    "deadline",
    "replay_safe",
    "page_size",
    "max_items",
    "self",
    "body",
    "raw",
}

FIELD_KEYS = {
    "wire",
    "attr",
    "type",
    "required",
    "enum",
    "default",
    "max_length",
    "max_items",
    "item_max_length",
    "minimum",
    "maximum",
    "aliases",
    "description",
    "description_zh",
    "doc_type",
    "doc_required",
    "always_present",
    "unchecked",
    "secret",
    "notes",
}
FIELD_REQUIRED = ("wire", "type", "description")


def keys(
    obj: Any, allowed: set[str], required: tuple[str, ...], file: str, owner: str, fld: str = ""
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CatalogueError(file, f"expected a mapping, got {type(obj).__name__}", owner, fld)
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise CatalogueError(
            file, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})", owner, fld
        )
    for key in required:
        if key not in obj:
            raise CatalogueError(file, f"missing required key {key!r}", owner, fld)
    return obj


def opt_int(value: Any, file: str, owner: str, fld: str, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogueError(file, f"{key} must be an integer, got {value!r}", owner, fld)
    return value


def strs(value: Any, file: str, owner: str, fld: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogueError(file, f"{key} must be a list of strings", owner, fld)
    return tuple(value)


def _field(raw: Any, file: str, owner: str, enums: dict[str, EnumSpec]) -> FieldSpec:
    name = raw.get("wire", "?") if isinstance(raw, dict) else "?"
    raw = keys(raw, FIELD_KEYS, FIELD_REQUIRED, file, owner, name)
    try:
        type_text = parse_type(raw["type"]).text()
    except ValueError as exc:
        raise CatalogueError(file, str(exc), owner, name) from None
    attr = raw.get("attr") or snake(name)
    if not attr.isidentifier() or keyword.iskeyword(attr) or attr in RESERVED_ATTRS:
        raise CatalogueError(file, f"attribute name {attr!r} is not usable", owner, name)
    enum_raw = raw.get("enum")
    enum_name = ""
    if isinstance(enum_raw, str):
        if enum_raw not in enums:
            raise CatalogueError(file, f"unknown enum {enum_raw!r}", owner, name)
        enum_name, enum = enum_raw, enums[enum_raw].values
    elif type_text in ("integer", "list[integer]") and isinstance(enum_raw, list):
        # Documented integer codes (ProcessMaterial.Definition: 20, 30), kept as their text
        # like every enum value; the generated Literal and the checks read them as ints.
        if not enum_raw or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in enum_raw
        ):
            raise CatalogueError(file, "enum of an integer field must list integers", owner, name)
        enum = tuple(str(v) for v in enum_raw)
    else:
        enum = strs(enum_raw, file, owner, name, "enum")
        if enum and texpr(type_text).kind == "scalar" and type_text != "string":
            raise CatalogueError(
                file, f"enum values need a string or integer field, not {type_text}", owner, name
            )
    if raw.get("secret") is not None and type_text != "string":
        raise CatalogueError(file, "secret applies to string fields only", owner, name)
    for key in ("required", "doc_required", "secret"):
        if key in raw and not isinstance(raw[key], bool):
            raise CatalogueError(file, f"{key} must be true or false", owner, name)
    for key in ("minimum", "maximum"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise CatalogueError(file, f"{key} must be a number", owner, name)
    _check_limits(raw, texpr(type_text), file, owner, name)
    if not isinstance(raw["description"], str) or not raw["description"].strip():
        raise CatalogueError(file, "description must be a non-empty string", owner, name)
    return FieldSpec(
        wire=name,
        attr=attr,
        type=type_text,
        description=raw["description"].strip(),
        required=raw.get("required", False),
        enum=enum,
        enum_name=enum_name,
        default=raw.get("default"),
        max_length=opt_int(raw.get("max_length"), file, owner, name, "max_length"),
        max_items=opt_int(raw.get("max_items"), file, owner, name, "max_items"),
        item_max_length=opt_int(raw.get("item_max_length"), file, owner, name, "item_max_length"),
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        aliases=strs(raw.get("aliases"), file, owner, name, "aliases"),
        description_zh=raw.get("description_zh", ""),
        doc_type=raw.get("doc_type", ""),
        doc_required=raw.get("doc_required"),
        notes=strs(raw.get("notes"), file, owner, name, "notes"),
        unchecked=" ".join(str(raw.get("unchecked") or "").split()),
        secret=raw.get("secret", False),
        always_present=_always(
            raw.get("always_present"), texpr_text=type_text, file=file, owner=owner, fld=name
        ),
    )


def _check_limits(raw: dict[str, Any], t: TypeExpr, file: str, owner: str, fld: str) -> None:
    """Each limit on the kind of field it means, so the SDK and the emulator (which read
    them the same way only then) cannot disagree about a spec."""
    is_list = t.kind == "list"
    scalars = {i.name for i in (t.items if t.kind in ("list", "union") else (t,))}
    scalars |= (
        {i.items[0].name for i in t.items if i.kind == "list"} if t.kind == "union" else set()
    )
    if is_list and raw.get("max_length") is not None:
        raise CatalogueError(
            file, "max_length of a list is ambiguous: use item_max_length", owner, fld
        )
    for key in ("max_items", "item_max_length"):
        if raw.get(key) is not None and not is_list and t.kind != "union":
            raise CatalogueError(file, f"{key} applies to lists only", owner, fld)
    if raw.get("max_length") is not None and "string" not in scalars:
        raise CatalogueError(file, "max_length applies to strings only", owner, fld)
    low, high = raw.get("minimum"), raw.get("maximum")
    if (low is not None or high is not None) and not scalars & {"integer", "float"}:
        raise CatalogueError(file, "minimum/maximum applies to numbers only", owner, fld)
    if low is not None and high is not None and low > high:
        raise CatalogueError(file, f"minimum {low} is above maximum {high}", owner, fld)


def _always(value: Any, *, texpr_text: str, file: str, owner: str, fld: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(file, "always_present must be the reason, as text", owner, fld)
    if texpr(texpr_text).kind != "list":
        raise CatalogueError(file, "always_present applies to list fields only", owner, fld)
    return " ".join(value.split())


def fields(raw: Any, file: str, owner: str, enums: dict[str, EnumSpec]) -> tuple[FieldSpec, ...]:
    if not isinstance(raw, list):
        raise CatalogueError(file, "fields must be a list", owner)
    out = [_field(f, file, owner, enums) for f in raw]
    seen: set[str] = set()
    for f in out:
        for key in (f.wire, *f.aliases):
            if key in seen:
                raise CatalogueError(file, "duplicate wire name", owner, key)
            seen.add(key)
    attrs = [f.attr for f in out]
    for a in attrs:
        if attrs.count(a) > 1:
            raise CatalogueError(file, f"duplicate attribute name {a!r}", owner, a)
    return tuple(out)


def check_types(fields: tuple[FieldSpec, ...], known: set[str], file: str, owner: str) -> None:
    for f in fields:
        t = texpr(f.type)
        for name in t.structs():
            if name not in known:
                raise CatalogueError(file, f"unknown type name {name!r}", owner, f.wire)
        if t.kind == "union" and t.structs():
            raise CatalogueError(
                file, "a union may only combine scalars and lists of scalars", owner, f.wire
            )
