"""Load and validate the YAML catalogue in ``specs/``.

Every problem stops code generation with a :class:`CatalogueError` naming the file,
the action (or structure) and the field.  Nothing here is imported at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cme_async._catalogue import (
    ActionSpec,
    Catalogue,
    EnumSpec,
    ErrorCodeSpec,
    FamilySpec,
    FieldSpec,
    StructSpec,
)
from codegen.fields import check_types, fields, keys, opt_int, strs
from codegen.schema import CatalogueError, snake, texpr

RESERVED_ARGS = {"self", "timeout", "max_retries", "deadline", "page_size", "max_items"}
# Replay safety follows the action's verb (issue 3); the catalogue must agree.
REPLAY_SAFE_PREFIXES = {
    "Describe": True,
    "Search": True,
    "List": True,
    "Modify": True,
    "Delete": True,
    "Create": False,
    "Add": False,
    "Process": False,
    "Finish": False,
}
NON_ACTION_FILES = {"types.yaml", "errors.yaml"}

ACTION_FILE_KEYS = {"action_class", "description", "actions"}
ACTION_KEYS = {
    "name",
    "method",
    "doc_id",
    "doc_path",
    "title_zh",
    "description",
    "description_zh",
    "replay_safe",
    "paging",
    "errors",
    "request",
    "response",
    "lenient",
    "notes",
}
ACTION_REQUIRED = ("name", "description", "replay_safe", "paging", "request", "response")
PAGING_KEYS = {
    "kind",
    "items",
    "total",
    "cursor",
    "item_key",
    "default_page_size",
    "max_page_size",
    "one_object_filters",
}
LENIENT_KEYS = {"single_item_as"}
TYPES_FILE_KEYS = {"enums", "structs"}
STRUCT_KEYS = {"name", "description", "source", "direction", "export", "fields", "notes"}
STRUCT_REQUIRED = ("name", "description", "fields")
ENUM_KEYS = {"description", "values", "notes"}
ERRORS_FILE_KEYS = {"families", "codes"}
FAMILY_KEYS = {"meaning", "sdk_error"}
CODE_KEYS = {
    "code",
    "family",
    "meaning",
    "relogin_helps",
    "retry_helps",
    "not_found",
    "seen_in_client_examples",
}


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses a key written twice in one mapping (plain YAML keeps
    the last one silently, so a repeated limit would quietly win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"line {line}: key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise CatalogueError(path.name, f"not valid YAML: {exc}") from None


class _Builder:
    """The parts of a catalogue while it is read (the result is frozen)."""

    def __init__(self) -> None:
        self.families: dict[str, FamilySpec] = {}
        self.errors: dict[str, ErrorCodeSpec] = {}
        self.enums: dict[str, EnumSpec] = {}
        self.structs: dict[str, StructSpec] = {}
        self.actions: dict[str, ActionSpec] = {}


def load(spec_dir: Path) -> Catalogue:
    """Read ``types.yaml``, ``errors.yaml`` and one YAML file per ActionClass."""
    b = _Builder()
    _load_errors(spec_dir / "errors.yaml", b)
    _load_types(spec_dir / "types.yaml", b)
    files = sorted(p for p in spec_dir.glob("*.yaml") if p.name not in NON_ACTION_FILES)
    if not files:
        raise CatalogueError(str(spec_dir), "no action files")
    for path in files:
        _load_actions(path, b)
    return Catalogue(
        actions=b.actions,
        structs=dict(sorted(b.structs.items())),
        error_codes=dict(sorted(b.errors.items())),
        enums=dict(sorted(b.enums.items())),
        families=b.families,
    )


def _load_errors(path: Path, b: _Builder) -> None:
    file = path.name
    raw = keys(_read(path), ERRORS_FILE_KEYS, ("families", "codes"), file, "")
    for fam, spec in raw["families"].items():
        spec = keys(spec, FAMILY_KEYS, ("meaning", "sdk_error"), file, f"family {fam}")
        b.families[fam] = FamilySpec(meaning=spec["meaning"], sdk_error=spec["sdk_error"])
    for item in raw["codes"]:
        code = item.get("code", "?") if isinstance(item, dict) else "?"
        item = keys(item, CODE_KEYS, ("code", "family", "meaning"), file, f"code {code}")
        if code in b.errors:
            raise CatalogueError(file, "duplicate error code", f"code {code}")
        if item["family"] not in b.families:
            raise CatalogueError(file, f"unknown family {item['family']!r}", f"code {code}")
        b.errors[code] = ErrorCodeSpec(
            code=code,
            family=item["family"],
            meaning=" ".join(str(item["meaning"]).split()),
            relogin_helps=bool(item.get("relogin_helps", False)),
            retry_helps=bool(item.get("retry_helps", False)),
            seen_in_client_examples=bool(item.get("seen_in_client_examples", False)),
            not_found=bool(item.get("not_found", False)) or item["family"] == "not_found",
        )


def _load_types(path: Path, b: _Builder) -> None:
    file = path.name
    raw = keys(_read(path), TYPES_FILE_KEYS, ("structs",), file, "")
    for name, spec in (raw.get("enums") or {}).items():
        spec = keys(spec, ENUM_KEYS, ("values",), file, f"enum {name}")
        b.enums[name] = EnumSpec(
            name=name,
            values=strs(spec["values"], file, f"enum {name}", "", "values"),
            description=str(spec.get("description") or name),
        )
    for item in raw["structs"]:
        name = item.get("name", "?") if isinstance(item, dict) else "?"
        owner = f"struct {name}"
        item = keys(item, STRUCT_KEYS, STRUCT_REQUIRED, file, owner)
        if name in b.structs:
            raise CatalogueError(file, "duplicate structure", owner)
        b.structs[name] = StructSpec(
            name=name,
            fields=fields(item["fields"], file, owner, b.enums),
            description=item["description"],
            notes=strs(item.get("notes"), file, owner, "", "notes"),
            source=item.get("source", ""),
            export=bool(item.get("export", False)),
        )
    for s in b.structs.values():
        check_types(s.fields, set(b.structs), file, f"struct {s.name}")


def resolve(
    fields: tuple[FieldSpec, ...], path: str, structs: Mapping[str, StructSpec]
) -> list[FieldSpec]:
    """The chain of fields a dotted wire path walks through (empty if it names none)."""
    head, _, rest = path.partition(".")
    for f in fields:
        if f.wire == head:
            if not rest:
                return [f]
            t = texpr(f.type)
            if t.kind == "struct":
                inner = resolve(structs[t.name].fields, rest, structs)
                return [f, *inner] if inner else []
    return []


def _load_actions(path: Path, b: _Builder) -> None:
    file = path.name
    raw = keys(_read(path), ACTION_FILE_KEYS, ("action_class", "actions"), file, "")
    cls = raw["action_class"]
    if not isinstance(cls, str) or cls.lower() != path.stem:
        raise CatalogueError(file, f"action_class {cls!r} does not match the file name")
    methods: set[str] = set()
    for item in raw["actions"]:
        name = item.get("name", "?") if isinstance(item, dict) else "?"
        owner = f"action {name}"
        item = keys(item, ACTION_KEYS, ACTION_REQUIRED, file, owner)
        if f"{cls}/{name}" in b.actions:
            raise CatalogueError(file, "duplicate action", owner)
        if not isinstance(item["replay_safe"], bool):
            raise CatalogueError(file, "replay_safe must be true or false", owner)
        verb = re.match(r"[A-Z][a-z]+", name)
        expected = REPLAY_SAFE_PREFIXES.get(verb.group(0) if verb else "")
        if expected is not None and expected != item["replay_safe"]:
            raise CatalogueError(
                file,
                f"replay_safe must be {str(expected).lower()} for a "
                f"{verb.group(0) if verb else ''}* action",
                owner,
            )
        request = fields(item["request"] or [], file, owner, b.enums)
        response = (
            None if item["response"] is None else fields(item["response"], file, owner, b.enums)
        )
        check_types(request + (response or ()), set(b.structs), file, owner)
        for f in request:
            if f.always_present:
                raise CatalogueError(file, "always_present is for answers", owner, f.wire)
            if f.attr in RESERVED_ARGS:
                raise CatalogueError(file, f"argument name {f.attr!r} is reserved", owner, f.wire)
        errors = strs(item.get("errors"), file, owner, "", "errors")
        for code in errors:
            if code not in b.errors:
                raise CatalogueError(
                    file, f"unknown error code {code!r} (add it to errors.yaml)", owner
                )
        single_item_as = None
        if item.get("lenient") is not None:
            lenient = keys(
                item["lenient"], LENIENT_KEYS, ("single_item_as",), file, owner, "lenient"
            )
            chain = resolve(response or (), lenient["single_item_as"], b.structs)
            t = texpr(chain[-1].type) if chain else None
            if t is None or t.kind != "list" or t.items[0].kind != "struct":
                raise CatalogueError(
                    file, "lenient.single_item_as must name a response list of a structure", owner
                )
            single_item_as = chain[-1].wire
        method = item.get("method") or snake(name)
        if method in methods:
            raise CatalogueError(file, f"duplicate method name {method!r}", owner)
        methods.add(method)
        paging = _paging(item["paging"], request, response, file, owner, b)
        b.actions[f"{cls}/{name}"] = ActionSpec(
            action_class=cls,
            action_name=name,
            method=method,
            replay_safe=item["replay_safe"],
            request=request,
            response=response or (),
            has_data=response is not None,
            description=" ".join(str(item["description"]).split()),
            errors=errors,
            doc_id=item.get("doc_id"),
            notes=strs(item.get("notes"), file, owner, "", "notes"),
            single_item_as=single_item_as,
            doc_path=item.get("doc_path", ""),
            title_zh=item.get("title_zh", ""),
            description_zh=item.get("description_zh", ""),
            **paging,
        )


def _paging(
    raw: Any,
    request: tuple[FieldSpec, ...],
    response: tuple[FieldSpec, ...] | None,
    file: str,
    owner: str,
    b: _Builder,
) -> dict[str, Any]:
    if raw == "none" or raw is None:
        return {"paging": "none"}
    raw = keys(raw, PAGING_KEYS, ("kind", "items"), file, owner, "paging")
    kind = raw["kind"]
    wires = {f.wire for f in request}
    items = resolve(response or (), raw["items"], b.structs)
    if not items or texpr(items[-1].type).kind != "list":
        raise CatalogueError(
            file, f"paging.items {raw['items']!r} is not a response list", owner, "paging"
        )
    p: dict[str, Any] = {
        "paging": kind,
        "items_field": raw["items"],
        "total_field": raw.get("total"),
        "cursor_field": raw.get("cursor"),
        "item_key": raw.get("item_key"),
        "default_page_size": opt_int(
            raw.get("default_page_size"), file, owner, "paging", "default_page_size"
        ),
        "max_page_size": opt_int(raw.get("max_page_size"), file, owner, "paging", "max_page_size"),
        "one_object_filters": strs(
            raw.get("one_object_filters"), file, owner, "paging", "one_object_filters"
        ),
    }
    for wire in p["one_object_filters"]:
        if wire not in wires:
            raise CatalogueError(
                file, f"paging.one_object_filters: {wire!r} is not a request field", owner
            )
    if kind == "offset":
        if not {"Offset", "Limit"} <= wires:
            raise CatalogueError(
                file, "offset paging needs Offset and Limit request fields", owner, "paging"
            )
        total = p["total_field"]
        if total is not None and not resolve(response or (), total, b.structs):
            raise CatalogueError(
                file, f"paging.total {total!r} is not a response field", owner, "paging"
            )
    elif kind == "time_window":
        if not {"StartTimeOffset", "EndTimeOffset"} <= wires:
            raise CatalogueError(
                file, "time_window paging needs StartTimeOffset and EndTimeOffset", owner, "paging"
            )
        cursor = p["cursor_field"]
        if cursor is None or not resolve(response or (), cursor, b.structs):
            raise CatalogueError(
                file, "time_window paging needs a cursor response field", owner, "paging"
            )
    else:
        raise CatalogueError(
            file, f"unknown paging kind {kind!r} (offset, time_window, none)", owner, "paging"
        )
    return p
