"""Run-time view of the action catalogue (``specs/*.yaml``).

The generator turns the YAML catalogue into plain instances of the classes
below (``cme_async/_generated/catalogue.py``), so that the runtime (retry
policy, paginators) and the emulator can ask questions about an action without
a YAML parser.  This module only defines the shapes and the lookup; it never
imports the generated module at import time of ``cme_async`` beyond what the
lookup needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Literal

import attrs

Paging = Literal["offset", "time_window", "none"]


@attrs.frozen
class FieldSpec:
    """One field of a request, a response ``Data`` or a structure.

    ``type`` is the catalogue's type expression: ``string``, ``integer``,
    ``float``, ``boolean``, ``any``, a structure name (``Entity``), a list
    (``list[Entity]``) or a union written with ``|`` (``string|integer``),
    used where the documentation contradicts itself.

    For a list field, ``enum`` and ``item_max_length`` apply to each item while
    ``max_items`` bounds the list.  ``aliases`` are other wire names the field is
    read from (documented spellings that contradict each other); ``notes`` record
    documentation oddities; ``doc_type`` is the type as the page writes it.
    """

    wire: str
    attr: str
    type: str
    required: bool = False
    enum: tuple[str, ...] = ()
    default: object = None
    max_length: int | None = None
    max_items: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    # Added by the code generator (optional, with defaults):
    item_max_length: int | None = None
    doc_type: str = ""
    notes: tuple[str, ...] = ()


@attrs.frozen
class StructSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    description: str = ""
    notes: tuple[str, ...] = ()


@attrs.frozen
class ActionSpec:
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
    # For paged actions: the wire names the paginator works with.
    items_field: str | None = None
    total_field: str | None = None
    # Added by the code generator (optional, with defaults).  For ``time_window``
    # paging ``items_field``/``cursor_field`` are dotted wire paths into ``Data``
    # (``"SubtitleInfo.SubtitleSet"``, ``"SubtitleInfo.LastTimeOffset"``).
    cursor_field: str | None = None
    default_page_size: int | None = None
    max_page_size: int | None = None
    doc_id: int | None = None
    notes: tuple[str, ...] = ()

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


@attrs.frozen
class Catalogue:
    """The whole catalogue: actions by ``"Class/Name"``, structures and error codes by name."""

    actions: Mapping[str, ActionSpec]
    structs: Mapping[str, StructSpec]
    error_codes: Mapping[str, ErrorCodeSpec]


_CATALOGUE: Catalogue | None = None


def catalogue() -> Catalogue:
    """The catalogue, loaded on first use (the emulator, the CLI and the paginators ask)."""
    global _CATALOGUE
    if _CATALOGUE is None:
        try:
            module = importlib.import_module("cme_async._generated.catalogue")
        except ImportError:  # pragma: no cover - only before the first `make codegen`
            return Catalogue({}, {}, {})
        _CATALOGUE = Catalogue(module.ACTIONS, module.STRUCTS, module.ERROR_CODES)
    return _CATALOGUE


def action_spec(action_class: str, action_name: str) -> ActionSpec | None:
    """The catalogue entry for ``action_class/action_name``, or None if unknown."""
    return catalogue().actions.get(f"{action_class}/{action_name}")
