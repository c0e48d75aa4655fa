"""The action catalogue (``specs/*.yaml``) as attrs classes: the one model of a spec.

``python -m codegen`` validates the YAML into these classes and writes them to the
package-data file ``cme_async/_generated/catalogue.json``; :func:`catalogue` reads that
file back on first use (the emulator, the CLI, ``docs``).  A normal call never needs it:
what a call needs (wire names, replay safety, paging) is written into the generated
methods and models.  This module imports neither the generator nor the generated code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal

import attrs
import cattrs

__all__ = [
    "INTEGER_MAX",
    "INTEGER_MIN",
    "ActionSpec",
    "Catalogue",
    "EnumSpec",
    "ErrorCodeSpec",
    "FamilySpec",
    "FieldSpec",
    "StructSpec",
    "action_spec",
    "catalogue",
    "dumps",
    "loads",
]

Paging = Literal["offset", "time_window", "none"]

#: The range of the catalogue's ``integer`` type: the pages write ``Integer`` / ``Int64``,
#: a signed 64-bit number.  The SDK refuses anything outside it before sending and the
#: emulator refuses it on arrival, both from these bounds.
INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1


@attrs.frozen
class FieldSpec:
    """One field of a request, a response ``Data`` or a structure.

    ``type`` is the catalogue's type expression: ``string``, ``integer``, ``float``,
    ``boolean``, ``any``, a structure name (``Entity``), a list (``list[Entity]``) or a
    union written with ``|`` (``string|integer``), used where the documentation
    contradicts itself.  For a list field, ``enum`` and ``item_max_length`` apply to each
    item while ``max_items`` bounds the list.  ``aliases`` are other wire names the field
    is read from; ``notes`` record documentation oddities; ``doc_type`` is the type as
    the page writes it; ``enum_name`` names the shared enum ``enum`` came from.
    """

    wire: str
    attr: str
    type: str
    required: bool = False
    enum: tuple[str, ...] = ()
    default: Any = None
    max_length: int | None = None
    max_items: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    item_max_length: int | None = None
    doc_type: str = ""
    notes: tuple[str, ...] = ()
    enum_name: str = ""
    doc_required: bool | None = None
    description_zh: str = ""
    # Why a response list is never None (an absent list reads as []), or "".
    always_present: str = ""
    # Why the documented limits are not checked before sending (a documented example
    # contradicts them, and the example wins), or "".
    unchecked: str = ""
    # A credential (a signature): masked in model reprs and in the emulator's request log.
    secret: bool = False


@attrs.frozen
class StructSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    description: str = ""
    notes: tuple[str, ...] = ()
    source: str = ""
    export: bool = False  # also importable as ``cme_async.<name>``


@attrs.frozen
class EnumSpec:
    name: str
    values: tuple[str, ...]
    description: str = ""


@attrs.frozen
class ActionSpec:
    """One action.  For paged actions ``items_field``/``total_field``/``cursor_field``
    are wire names (dotted paths into ``Data`` for ``time_window`` paging, e.g.
    ``"SubtitleInfo.SubtitleSet"``); ``item_key`` names the item field that identifies
    an item repeated at a window boundary.  ``single_item_as`` names the response list
    an answer may replace by one flat item (a documented oddity)."""

    action_class: str
    action_name: str
    method: str
    replay_safe: bool
    paging: Paging
    request: tuple[FieldSpec, ...]
    response: tuple[FieldSpec, ...]
    has_data: bool
    description: str = ""
    errors: tuple[str, ...] = ()
    items_field: str | None = None
    total_field: str | None = None
    cursor_field: str | None = None
    default_page_size: int | None = None
    max_page_size: int | None = None
    doc_id: int | None = None
    notes: tuple[str, ...] = ()
    item_key: str | None = None
    # Request fields that name one object: when one is given, ResourceNotFound on the
    # first page means that object does not exist (raised), not "no items".
    one_object_filters: tuple[str, ...] = ()
    single_item_as: str | None = None
    doc_path: str = ""
    title_zh: str = ""
    description_zh: str = ""

    @property
    def key(self) -> str:
        return f"{self.action_class}/{self.action_name}"


@attrs.frozen
class ErrorCodeSpec:
    code: str
    family: str
    meaning: str = ""
    relogin_helps: bool = False
    retry_helps: bool = False
    seen_in_client_examples: bool = False
    not_found: bool = False  # means "does not exist": raised as NotFoundError


@attrs.frozen
class FamilySpec:
    meaning: str
    sdk_error: str


@attrs.frozen
class Catalogue:
    """The whole catalogue: actions by ``"Class/Name"``, structures, error codes, enums
    and error families by name.  Actions keep the catalogue's order."""

    actions: Mapping[str, ActionSpec]
    structs: Mapping[str, StructSpec]
    error_codes: Mapping[str, ErrorCodeSpec]
    enums: Mapping[str, EnumSpec] = attrs.field(factory=dict)
    families: Mapping[str, FamilySpec] = attrs.field(factory=dict)


# The spec classes only (the wire models have their own converter in _converter.py).
_specs = cattrs.Converter(omit_if_default=True)


def dumps(cat: Catalogue) -> str:
    """The catalogue as deterministic JSON (what ``make codegen`` writes)."""
    data = _specs.unstructure(cat)
    data["actions"] = [_specs.unstructure(a) for a in cat.actions.values()]
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def loads(text: str) -> Catalogue:
    data = json.loads(text)
    actions = [_specs.structure(a, ActionSpec) for a in data.pop("actions")]
    cat = _specs.structure(data | {"actions": {}}, Catalogue)
    return attrs.evolve(cat, actions={a.key: a for a in actions})


_CATALOGUE: Catalogue | None = None


def catalogue() -> Catalogue:
    """The catalogue, read from the package data on first use."""
    global _CATALOGUE
    if _CATALOGUE is None:
        path = resources.files("cme_async._generated").joinpath("catalogue.json")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:  # pragma: no cover - only before the first `make codegen`
            return Catalogue({}, {}, {})
        _CATALOGUE = loads(text)
    return _CATALOGUE


def action_spec(action_class: str, action_name: str) -> ActionSpec | None:
    """The catalogue entry for ``action_class/action_name``, or None if unknown."""
    return catalogue().actions.get(f"{action_class}/{action_name}")
