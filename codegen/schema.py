"""The catalogue's in-memory shape: type expressions, fields, structures, actions.

``codegen.loader`` builds these from ``specs/*.yaml`` after validating them; the
renderers only read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SCALARS = {"string": "str", "integer": "int", "float": "float", "boolean": "bool", "any": "Any"}


class CatalogueError(Exception):
    """A problem in ``specs/``: the message names the file, the owner and the field."""

    def __init__(self, file: str, message: str, owner: str = "", fld: str = "") -> None:
        where = file
        if owner:
            where += f": {owner}"
        if fld:
            where += f": field {fld}"
        super().__init__(f"{where}: {message}")


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name.strip())
    return s.lower()


@dataclass(frozen=True)
class TypeExpr:
    kind: str  # "scalar" | "struct" | "list" | "union"
    name: str = ""
    items: tuple[TypeExpr, ...] = ()

    def text(self) -> str:
        if self.kind == "list":
            return f"list[{self.items[0].text()}]"
        if self.kind == "union":
            return "|".join(t.text() for t in self.items)
        return self.name

    def structs(self) -> set[str]:
        if self.kind == "struct":
            return {self.name}
        return set().union(*(t.structs() for t in self.items)) if self.items else set()


def _split_union(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def parse_type(text: str) -> TypeExpr:
    """Parse a type expression; struct names are checked later against the catalogue."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"bad type expression {text!r}")
    parts = _split_union(text.strip())
    if len(parts) > 1:
        return TypeExpr("union", items=tuple(parse_type(p) for p in parts))
    t = parts[0]
    m = re.fullmatch(r"list\[(.+)\]", t)
    if m:
        return TypeExpr("list", items=(parse_type(m.group(1)),))
    if t in SCALARS:
        return TypeExpr("scalar", t)
    if re.fullmatch(r"[A-Z][A-Za-z0-9]*", t):
        return TypeExpr("struct", t)
    raise ValueError(f"unknown type name {t!r}")


@dataclass
class Field:
    wire: str
    attr: str
    type: TypeExpr
    description: str
    required: bool = False
    enum: tuple[str, ...] = ()
    enum_name: str = ""
    default: Any = None
    max_length: int | None = None
    max_items: int | None = None
    item_max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    aliases: tuple[str, ...] = ()
    description_zh: str = ""
    doc_type: str = ""
    doc_required: bool | None = None
    notes: tuple[str, ...] = ()


@dataclass
class Struct:
    name: str
    description: str
    fields: list[Field]
    notes: tuple[str, ...] = ()
    source: str = ""


@dataclass
class Paging:
    kind: str  # offset | time_window | none
    items: str | None = None
    total: str | None = None
    cursor: str | None = None
    item_key: str | None = None
    default_page_size: int | None = None
    max_page_size: int | None = None


@dataclass
class Action:
    action_class: str
    name: str
    method: str
    description: str
    replay_safe: bool
    paging: Paging
    request: list[Field]
    response: list[Field] | None
    errors: tuple[str, ...] = ()
    description_zh: str = ""
    doc_id: int | None = None
    doc_path: str = ""
    title_zh: str = ""
    single_item_as: str | None = None
    notes: tuple[str, ...] = ()
    file: str = ""

    @property
    def key(self) -> str:
        return f"{self.action_class}/{self.name}"


@dataclass
class ErrorCode:
    code: str
    family: str
    meaning: str
    relogin_helps: bool = False
    retry_helps: bool = False
    seen: bool = False


@dataclass
class Catalogue:
    structs: dict[str, Struct] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    enum_docs: dict[str, str] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    errors: dict[str, ErrorCode] = field(default_factory=dict)
    families: dict[str, dict[str, str]] = field(default_factory=dict)

    def action_classes(self) -> list[str]:
        return sorted({a.action_class for a in self.actions})
