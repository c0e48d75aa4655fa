"""Reading models back out as they came, and saying where an answer broke its shape.

* ``as_written_hook``: ``to_dict()`` of answers and structures.  Structuring never checks
  types, so writing back checks none either: whatever CME sent is written as it was read
  (``from_dict(m.to_dict()) == m`` always holds).  Request classes keep the checking
  hooks of :mod:`cme_async._converter`, since their ``to_dict()`` is what would be sent.
* ``misfit``: after structuring an answer failed, the path of the first value whose kind
  contradicts the model (``Data.MaterialInfoSet[1].BasicInfo: ...``), for the error.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn_from_attrs, override

from ._wire import Wire, is_model, members

__all__ = ["as_written_hook", "misfit", "wire_writer"]

Hook = Callable[..., Any]

# Every attribute gets its own hook below; the converter only hosts the generated code.
_host = cattrs.Converter()


def _as_is(value: Any) -> Any:
    return value


_AS_WRITTEN: dict[type, Hook] = {}


def _as_written(value: Any) -> Any:
    """A value of a model being written back: models by their class's hook, lists item
    by item, anything else as it is."""
    if is_model(value.__class__):
        return as_written_hook(value.__class__)(value)
    if value.__class__ is list:
        return [_as_written(x) for x in value]
    return value


def _holds_models(t: Any) -> bool:
    return any(is_model(x) or any(map(is_model, typing.get_args(x))) for x in members(t))


FieldOverride = Callable[[type, Any, Wire], Any]


def wire_writer(
    cl: type, cache: dict[type, Hook], host: cattrs.Converter, field_override: FieldOverride
) -> Hook:
    """A hook writing a ``cl`` instance as its wire dict, fields that came unknown last:
    cattrs generates it from ``field_override(cl, attribute, wire)`` for each attribute.
    Cached before it is built, so a structure nesting itself finds it."""
    hook = cache.get(cl)
    if hook is not None:
        return hook

    def write(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = fn(obj)
        extra = obj.unknown_fields
        if extra:
            for key, value in extra.items():
                out.setdefault(key, value)
        return out

    cache[cl] = write
    attrs.resolve_types(cl)
    w: Wire = cl.__dict__["_wire"]
    plan = [a for a in attrs.fields(cl) if a.name != "unknown_fields"]
    overrides = {a.name: field_override(cl, a, w) for a in plan}
    fn: Hook = make_dict_unstructure_fn_from_attrs(
        plan, cl, host, _cattrs_omit_if_default=True, **overrides
    )
    return write


def _written_as_read(cl: type, a: Any, w: Wire) -> Any:
    return override(
        rename=w.names[a.name],
        # (values that hold no model are written as they are, however deep)
        unstruct_hook=_as_written if _holds_models(a.type) else _as_is,
        omit_if_default=False if a.name in w.always else None,
    )


def as_written_hook(cl: type) -> Hook:
    """The hook turning a ``cl`` instance into its wire dict without checking anything
    (``to_dict()`` of answers and structures: what was read is written back)."""
    return wire_writer(cl, _AS_WRITTEN, _host, _written_as_read)


def misfit(cl: type, data: Any, path: str) -> str | None:
    """Where ``data`` contradicts the shape of ``cl``, as ``path: expected ..., got ...``
    (None if nowhere).  Run only after structuring failed, to name the field."""
    if data is None:
        return None
    if data.__class__ is not dict:
        return f"{path}: {cl.__name__}: expected a JSON object, got {type(data).__name__}"
    w: Wire = cl.__dict__["_wire"]
    for a in attrs.fields(cl):
        if a.name == "unknown_fields":
            continue
        options = members(a.type)
        t: Any = options[0] if len(options) == 1 else None
        for key in (w.names[a.name], *w.aliases.get(a.name, ())):
            value = data.get(key)
            if value is None:
                continue
            here = f"{path}.{key}"
            if is_model(t):
                bad = misfit(t, value, here)
            elif typing.get_origin(t) is list:
                bad = _misfit_list(typing.get_args(t)[0], value, here)
            else:
                bad = None
            if bad is not None:
                return bad
    return None


def _misfit_list(item: Any, value: Any, path: str) -> str | None:
    if value.__class__ is not list:
        return f"{path}: expected a JSON array, got {type(value).__name__}"
    if is_model(item):
        for i, x in enumerate(value):
            bad = misfit(item, x, f"{path}[{i}]")
            if bad is not None:
                return bad
    return None
