"""Type expressions of the catalogue and the generator's error.

The catalogue itself is modelled once, by the attrs classes of
``cme_async._catalogue`` (``FieldSpec.type`` is a type-expression string); this
module parses those strings for the renderers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

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


@functools.cache
def texpr(text: str) -> TypeExpr:
    """The parsed form of a (validated) ``FieldSpec.type``."""
    return parse_type(text)
