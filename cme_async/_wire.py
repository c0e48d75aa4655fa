"""What the generator writes into each model class, and the checks of request values.

``Wire`` (a model's ``_wire`` class attribute) gives each attribute's wire name, the
alternative spellings, the fields a request must carry and the documented ``Limits``.
The checks here raise errors that name their path (``search_scopes[0].owner.id``) as
they propagate; ``breach`` walks a request body for the first documented limit broken.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

import attrs

from ._catalogue import INTEGER_MAX, INTEGER_MIN

__all__ = [
    "ArgumentTypeError",
    "ArgumentValueError",
    "Limits",
    "Wire",
    "breach",
    "from_mapping",
    "is_model",
    "members",
]


@attrs.frozen
class Limits:
    """A field's documented limits, checked before a request is sent.  For a list,
    ``max_items`` bounds its length and the others apply to each item."""

    max_length: int | None = None
    max_items: int | None = None
    item_max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str | int, ...] = ()

    def problem(self, value: Any) -> str | None:
        """What breaks a limit (words for the error), or None."""
        if isinstance(value, list):
            if self.max_items is not None and len(value) > self.max_items:
                return f"at most {self.max_items} items are allowed, got {len(value)}"
            for i, item in enumerate(value):
                bad = self._one(item, self.item_max_length or self.max_length)
                if bad:
                    return f"item {i}: {bad}"
            return None
        return self._one(value, self.max_length)

    @property
    def documented(self) -> str:
        return ", ".join(map(str, self.allowed))

    def _one(self, value: Any, max_length: int | None) -> str | None:
        if isinstance(value, str):
            if max_length is not None and len(value) > max_length:
                return f"at most {max_length} characters are allowed, got {len(value)}"
            if self.allowed and value not in self.allowed:
                return f"{value!r} is not one of the documented values {self.documented}"
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if self.allowed and value not in self.allowed:
                return f"{value!r} is not one of the documented values {self.documented}"
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum:g}, got {value!r}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum:g}, got {value!r}"
        return None


@attrs.frozen
class Wire:
    """What the converter needs about one model class (written by the generator)."""

    names: Mapping[str, str]  # attribute -> wire name
    required: frozenset[str] = frozenset()
    aliases: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    single_item_as: str | None = None  # lenient: one flat item in place of this list
    always: frozenset[str] = frozenset()  # lists never None: absent reads as []
    limits: Mapping[str, Limits] = attrs.field(factory=dict)  # checked in requests
    action: str | None = None  # a request class: its action ("Material/SearchMaterial")


def is_model(cl: Any) -> bool:
    return isinstance(cl, type) and isinstance(cl.__dict__.get("_wire"), Wire)


# ---- argument errors that name their path ------------------------------------------


class Located(Exception):
    """An error whose message is ``<path><reason>``; the path grows as it propagates."""

    path: str
    reason: str

    def prefix(self, part: str) -> None:
        joint = "" if not self.path or self.path.startswith("[") else "."
        self.path = part + joint + self.path

    def __str__(self) -> str:
        return (self.path or "value") + self.reason


class ArgumentTypeError(Located, TypeError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


class ArgumentValueError(Located, ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


def got(value: Any, expected: str) -> NoReturn:
    raise ArgumentTypeError("", f": expected {expected}, got {type(value).__name__}")


Check = Callable[[Any], Any]


def check_str(value: Any) -> str:
    return value if isinstance(value, str) else got(value, "str")


def check_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if INTEGER_MIN <= value <= INTEGER_MAX:
            return value
        raise ArgumentValueError("", f": {value} does not fit the API's 64-bit Integer")
    got(value, "int")


def check_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        got(value, "float")
    if isinstance(value, float) and not math.isfinite(value):
        raise ArgumentValueError("", f": {value!r} is not a finite number (JSON cannot carry it)")
    return value


def check_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else got(value, "bool")


def check_any(value: Any) -> Any:
    return value


SCALARS: dict[Any, tuple[Check, str]] = {
    str: (check_str, "str"),
    int: (check_int, "int"),
    float: (check_float, "float"),
    bool: (check_bool, "bool"),
    Any: (check_any, "any"),
}


def list_of(item: Check) -> Check:
    def check_list(value: Any) -> list[Any]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            got(value, "a list")
        out = []
        for i, x in enumerate(value):
            try:
                out.append(item(x))
            except Located as exc:
                exc.prefix(f"[{i}]")
                raise
        return out

    return check_list


def one_of(checks: list[Check], expected: str) -> Check:
    def check_union(value: Any) -> Any:
        for check in checks:
            try:
                return check(value)
            except TypeError:
                continue
        got(value, expected)

    return check_union


def members(t: Any) -> list[Any]:
    """The alternatives of an annotation, ``None`` left out."""
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        return [x for x in typing.get_args(t) if x is not type(None)]
    return [t]


_CHECKS: dict[type, dict[str, tuple[str, Limits | None, type | None]]] = {}


def _walk_plan(cl: type) -> dict[str, tuple[str, Limits | None, type | None]]:
    """Wire name -> ``(attr, limits, nested model)`` of the fields worth walking in a request."""
    plan = _CHECKS.get(cl)
    if plan is None:
        attrs.resolve_types(cl)
        w: Wire = cl.__dict__["_wire"]
        plan = _CHECKS[cl] = {}  # (placeholder while nested classes are looked at)
        for a in attrs.fields(cl):
            if a.name == "unknown_fields":
                continue
            nested = next(
                (
                    x
                    for t in members(a.type)
                    for x in (t, *typing.get_args(t))
                    if is_model(x) and _walk_plan(x)
                ),
                None,
            )
            if a.name in w.limits or nested is not None:
                plan[w.names[a.name]] = (a.name, w.limits.get(a.name), nested)
    return plan


def breach(cl: type, body: Mapping[str, Any], path: str = "") -> tuple[str, str, str] | None:
    """The first documented limit ``body`` (a wire dict) breaks: ``(path, wire, words)``."""
    plan = _walk_plan(cl)
    if not plan:
        return None
    for wire, value in body.items():
        entry = plan.get(wire)
        if entry is None or value is None:
            continue
        attr, limits, nested = entry
        here = f"{path}.{attr}" if path else attr
        if limits is not None:
            words = limits.problem(value)
            if words is not None:
                return here, wire, words
        if nested is not None:
            many = value.__class__ is list
            for i, item in enumerate(value if many else [value]):
                if item.__class__ is dict:
                    bad = breach(nested, item, f"{here}[{i}]" if many else here)
                    if bad is not None:
                        return bad
    return None


def _near_miss(key: str, names: Iterable[str]) -> str | None:
    """The known wire name ``key`` misspells (another case, or a letter or two off but
    not a plural), or None: such keys are typos, not undocumented fields."""
    for name in names:
        if key.lower() == name.lower():
            return name
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.85)
    if close and key.rstrip("s") != close[0].rstrip("s"):
        return close[0]
    return None


_KEYS: dict[type, dict[str, str]] = {}


def from_mapping(cl: type, value: Mapping[Any, Any]) -> Any:
    """An instance of ``cl`` from a mapping keyed by attribute or wire names.

    Keys that are neither but look like wire names (PascalCase) are kept as unknown
    fields; any other key is almost always a typo and raises ``ValueError``.
    """
    w: Wire = cl.__dict__["_wire"]
    keys: dict[str, str] | None = _KEYS.get(cl)
    if keys is None:
        keys = {}
        for attr, wire in w.names.items():
            keys[attr] = keys[wire] = attr
            for alias in w.aliases.get(attr, ()):
                keys[alias] = attr
        _KEYS[cl] = keys
    init: dict[str, Any] = dict.fromkeys(w.names)
    extra: dict[str, Any] = {}
    for key, x in value.items():
        found = keys.get(key)
        if found is not None:
            if init[found] is None:
                init[found] = x
        elif isinstance(key, str) and key[:1].isupper():
            near = _near_miss(key, w.names.values())
            if near is not None:  # CME would ignore the misspelt field: refuse it
                raise ArgumentValueError(
                    "", f": unknown field {key!r} for {cl.__name__}: did you mean {near!r}?"
                )
            if x is not None:
                extra[key] = x
        else:
            raise ArgumentValueError(
                "",
                f": unknown field {key!r} for {cl.__name__} (known: {', '.join(w.names)}; "
                "undocumented wire fields must be spelled in PascalCase)",
            )
    return cl(**init, unknown_fields=extra)
