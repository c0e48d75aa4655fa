"""The one shared cattrs converter and the run-time helpers of the generated models.

Every generated model class registers two hooks here, built once at import:

* a structure hook (wire ``dict`` -> model), emitted by the generator as straight-line
  code because it sits on the hot path of every answer: it renames PascalCase wire
  keys to snake_case attributes, accepts the documented alternative spellings
  (aliases), never checks enum values (CME adds values over time) and keeps every
  unknown wire key in ``unknown_fields``;
* an unstructure hook (model or plain mapping -> wire ``dict``), table driven by a
  :class:`Codec`: it checks types and required fields, drops ``None`` values and
  sends unknown fields back unchanged.

The generated action methods call the same codecs, so a bad argument raises
``TypeError``/``ValueError`` naming the field before anything is sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

import cattrs

from ._errors import MalformedResponseError

__all__ = ["Codec", "converter"]

#: The shared converter: ``converter.structure(data, SearchMaterialResponse)`` and
#: ``converter.unstructure(model)`` work for every generated model class.
converter = cattrs.Converter()

Check = Callable[[Any, str], Any]
"""Validates one value for the wire: ``check(value, path) -> wire value``."""

_CODECS: dict[str, Codec] = {}
T = TypeVar("T")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return path or "value"


def check_str(value: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"{_where(path)}: expected str, got {type(value).__name__}")


def check_int(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"{_where(path)}: expected int, got {type(value).__name__}")


def check_float(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{_where(path)}: expected float, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{_where(path)}: {value!r} is not a finite number (JSON cannot carry it)")
    return value


def check_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"{_where(path)}: expected bool, got {type(value).__name__}")


def check_any(value: Any, path: str) -> Any:
    return value


def list_of(item: Check) -> Check:
    """A check for a list whose items pass ``item``; any non-string iterable is accepted."""

    def check_list(value: Any, path: str) -> list[Any]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise TypeError(f"{_where(path)}: expected a list, got {type(value).__name__}")
        return [item(x, f"{path}[{i}]") for i, x in enumerate(value)]

    return check_list


def one_of(*checks: Check, expected: str) -> Check:
    """A check for a union: the first alternative whose check passes wins."""

    def check_union(value: Any, path: str) -> Any:
        for check in checks:
            try:
                return check(value, path)
            except TypeError:
                continue
        raise TypeError(f"{_where(path)}: expected {expected}, got {type(value).__name__}")

    return check_union


def struct(name: str) -> Check:
    """A check for a nested structure, resolved by name when first used."""

    def check_struct(value: Any, path: str) -> dict[str, Any]:
        return _CODECS[name].to_wire(value, path)

    return check_struct


class Codec:
    """Turns one model class (or a plain mapping shaped like it) into its wire dict.

    ``fields`` rows are ``(attr, wire, check, required, aliases)``.  A mapping may use
    attribute names or wire names; keys that are neither but look like wire names
    (start with an upper-case letter) are sent unchanged, anything else is a
    ``ValueError`` (almost always a typo).
    """

    __slots__ = ("cls", "fields", "keys", "name")

    def __init__(
        self,
        cls: type,
        name: str,
        fields: tuple[tuple[str, str, Check, bool, tuple[str, ...]], ...],
    ) -> None:
        self.cls = cls
        self.name = name
        self.fields = fields
        keys: set[str] = set()
        for attr, wire, _check, _required, aliases in fields:
            keys.update((attr, wire, *aliases))
        self.keys = frozenset(keys)

    def to_wire(self, value: Any, path: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(value, self.cls):
            for attr, wire, check, required, _aliases in self.fields:
                x = getattr(value, attr)
                if x is None:
                    if required:
                        self._missing(path, attr, wire)
                    continue
                out[wire] = check(x, _join(path, attr))
            extra: dict[str, Any] = value.unknown_fields  # type: ignore[attr-defined]
            for key, x in extra.items():
                out.setdefault(key, x)
            return out
        if not isinstance(value, Mapping):
            raise TypeError(
                f"{_where(path)}: expected {self.name} or a mapping, got {type(value).__name__}"
            )
        passthrough: dict[str, Any] | None = None
        if not self.keys.issuperset(value):
            passthrough = {}
            for key, x in value.items():
                if key in self.keys:
                    continue
                if not isinstance(key, str) or not key[:1].isupper():
                    known = ", ".join(f[0] for f in self.fields)
                    raise ValueError(
                        f"{_where(path)}: unknown field {key!r} for {self.name} (known: {known}; "
                        "undocumented wire fields must be spelled in PascalCase)"
                    )
                if x is not None:
                    passthrough[key] = x
        for attr, wire, check, required, aliases in self.fields:
            x = value.get(attr)
            if x is None:
                x = value.get(wire)
                if x is None:
                    for alias in aliases:
                        x = value.get(alias)
                        if x is not None:
                            break
            if x is None:
                if required:
                    self._missing(path, attr, wire)
                continue
            out[wire] = check(x, _join(path, attr))
        if passthrough:
            for key, x in passthrough.items():
                out.setdefault(key, x)
        return out

    def _missing(self, path: str, attr: str, wire: str) -> NoReturn:
        raise TypeError(f"{_join(path, attr)} is required ({self.name}.{wire})")


def register(
    cls: type,
    name: str,
    structure: Callable[[Any, Any], Any],
    fields: tuple[tuple[str, str, Check, bool, tuple[str, ...]], ...],
) -> Codec:
    """Register a generated class: its structure hook and its codec (unstructure hook)."""
    codec = Codec(cls, name, fields)
    _CODECS[name] = codec
    converter.register_structure_hook(cls, structure)
    converter.register_unstructure_hook(cls, codec.to_wire)
    return codec


def request_body(codec: Codec, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The wire body of an action call; argument errors name the method and the field."""
    try:
        return codec.to_wire(values)
    except TypeError as exc:
        raise TypeError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse(structure: Callable[[Any], T], data: Any, action: str) -> T:
    """Structure an answer's ``Data`` (absent ``Data`` reads as an empty object).

    A ``Data`` whose shape contradicts the model (an array where an object belongs)
    raises ``MalformedResponseError`` rather than a bare ``TypeError``.
    """
    try:
        return structure({} if data is None else data)
    except (TypeError, AttributeError) as exc:
        raise MalformedResponseError(
            f"Data does not match the documented shape: {exc}",
            _snippet(data),
            action=action,
            http_status=None,
        ) from exc


def _snippet(data: Any) -> str:
    try:
        return json.dumps(data, ensure_ascii=False)[:200]
    except (TypeError, ValueError):
        return repr(data)[:200]


def extras(data: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The wire keys of ``data`` that the model does not know (kept on the instance)."""
    return {k: v for k, v in data.items() if k not in known}


def not_an_object(value: Any, name: str) -> NoReturn:
    raise TypeError(f"{name}: expected a JSON object, got {type(value).__name__}")


def looks_like(data: Mapping[str, Any], keys: frozenset[str]) -> bool:
    """True when ``data`` has at least one of ``keys`` (for lenient shape fallbacks)."""
    return not keys.isdisjoint(data)
