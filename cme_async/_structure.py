"""Structuring answers (wire dict -> model) with cattrs-generated functions.

``structure_hook(cl)`` builds, once per class and key layout, a function from cattrs'
``make_dict_structure_fn_from_attrs``: renames from the catalogue, nested models and
lists through their own hooks, keys the catalogue does not know kept in
``unknown_fields``. Past ``_MAX_SHAPES`` layouts one generic function serves the rest,
so an answer whose items all differ costs no compilation per item.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn_from_attrs, override

from ._wire import Wire, is_model, members

#: The shared converter: ``converter.structure(data, SearchMaterialResponse)`` and
#: ``converter.unstructure(model)`` work for every generated model class (the hooks are
#: registered by ``_converter``).
converter = cattrs.Converter(detailed_validation=False)

Hook = Callable[..., Any]

# ---- structuring (wire -> model) ----------------------------------------------------

_STRUCTURE: dict[type, Hook] = {}


def _as_is(value: Any) -> Any:
    return value


def _nested(t: Any) -> Hook | None:
    """The structure hook of a model-valued attribute; None: the wire value is kept as is."""
    options = members(t)
    if len(options) != 1:
        return None
    t = options[0]
    if is_model(t):
        return structure_hook(t)
    if typing.get_origin(t) is list and is_model(item := typing.get_args(t)[0]):
        item_hook = structure_hook(item)

        def structure_list(value: Any, _: Any = None) -> list[Any] | None:
            if value.__class__ is list or value.__class__ is tuple:
                return [item_hook(x) for x in value]
            if value is None:
                return None
            raise TypeError(f"expected a JSON array, got {type(value).__name__}")

        return structure_list
    return None


def _never_none(nested: Hook | None) -> Hook:
    """A list hook reading ``null`` as ``[]`` (for lists an answer always carries)."""

    def structure_always(value: Any, _: Any = None) -> list[Any]:
        if value is None:
            return []
        if nested is not None:
            return nested(value)  # type: ignore[no-any-return]
        if value.__class__ is list or value.__class__ is tuple:
            return list(value)
        # (list("abc") would quietly read a string as its characters)
        raise TypeError(f"expected a JSON array, got {type(value).__name__}")

    return structure_always


def _known(cl: type) -> frozenset[str]:
    w: Wire = cl.__dict__["_wire"]
    return frozenset(w.names.values()).union(*w.aliases.values())


_MAX_SHAPES = 64  # distinct key layouts remembered per class (answers repeat a few)
_MAX_MISSES = 16


def structure_hook(cl: type) -> Hook:
    """The hook turning a wire dict into ``cl`` (built once, on first use).

    cattrs generates one function per *shape* (the set of keys an object arrives
    with): it passes exactly the keys present, renamed, as keyword arguments, with no
    membership tests and no intermediate dict, so an answer's hundreds of objects cost
    about what reading them does.  A shape fixes which spelling of a contradictory
    field is used and which keys are unknown.
    """
    hook = _STRUCTURE.get(cl)
    if hook is not None:
        return hook
    attrs.resolve_types(cl)
    w: Wire = cl.__dict__["_wire"]
    name = cl.__name__
    shapes: dict[tuple[str, ...], Hook] = {}

    # The first shape seen with n keys, tried first for any object with n keys: its
    # function reads every key, so a KeyError means another shape (then the shapes
    # table decides).  A size whose shapes keep differing stops being tried.
    by_size: dict[int, Hook] = {}
    misses: dict[int, int] = {}

    def structure(o: Any, _: Any = None) -> Any:
        if o.__class__ is dict:
            fn = by_size.get(len(o))
            if fn is not None:
                try:
                    return fn(o)
                except KeyError:
                    size = len(o)
                    misses[size] = misses.get(size, 0) + 1
                    if misses[size] > _MAX_MISSES:
                        by_size.pop(size, None)
            fn = shapes.get(tuple(o)) or for_shape(o)
            return fn(o)
        if o is None:
            return None
        raise TypeError(f"{name}: expected a JSON object, got {type(o).__name__}")

    _STRUCTURE[cl] = structure  # before the nested hooks: structures may nest themselves
    fields = [a for a in attrs.fields(cl) if a.name != "unknown_fields"]
    hooks = {a.name: h for a in fields if (h := _nested(a.type)) is not None}
    for attr in w.always:
        hooks[attr] = _never_none(hooks.get(attr))
    single = w.single_item_as
    item_known: frozenset[str] = frozenset()
    if single is not None:
        items = next(a for a in fields if w.names[a.name] == single)
        item_known = _known(typing.get_args(members(items.type)[0])[0])

    def for_shape(o: dict[str, Any]) -> Hook:
        if single is not None and single not in o and not item_known.isdisjoint(o):
            # The documented flat item instead of a one-item list.
            fn: Hook = lambda o: structure({single: [o]})  # noqa: E731
        elif len(shapes) >= _MAX_SHAPES:
            # Past the bound (keys that vary item by item: a server leaving out empty
            # fields, or adding its own), compiling a function per object would cost far
            # more than reading it: one generic function reads the long tail.
            return generic
        else:
            fn, read = _shape_function(cl, w, fields, hooks, o)
            # Unknown keys, and a second spelling of a field already read from the first
            # (both sent at once): kept, so nothing the answer held is lost.
            extras = [k for k in o if k not in read]
            if extras:
                fn = _keeping(fn, extras)
            size = len(o)
            exact = read.union(extras) == o.keys()
            if exact and size not in by_size and misses.get(size, 0) <= _MAX_MISSES:
                by_size[size] = fn
        shapes[tuple(o)] = fn
        return fn

    generic = _generic_function(cl, w, fields, hooks)
    return structure


def _generic_function(
    cl: type, w: Wire, fields: list[attrs.Attribute[Any]], hooks: Mapping[str, Hook]
) -> Hook:
    """One function for any shape, by the rules of the per-shape ones: the first
    spelling present wins, a required request field that is absent reads as None, and
    every key not read is kept in ``unknown_fields``."""
    plan = [
        (
            a.name,
            (w.names[a.name], *w.aliases.get(a.name, ())),
            hooks.get(a.name),
            a.default is attrs.NOTHING,
        )
        for a in fields
    ]

    def structure_any_shape(o: dict[str, Any]) -> Any:
        values: dict[str, Any] = {}
        read: set[str] = set()
        for attr, keys, hook, required in plan:
            for key in keys:
                if key in o:
                    value = o[key]
                    values[attr] = value if hook is None else hook(value)
                    read.add(key)
                    break
            else:
                if required:
                    values[attr] = None
        obj = cl(**values)
        if len(read) != len(o):
            obj.unknown_fields = {k: v for k, v in o.items() if k not in read}
        return obj

    return structure_any_shape


def _shape_function(
    cl: type,
    w: Wire,
    fields: list[attrs.Attribute[Any]],
    hooks: Mapping[str, Hook],
    o: Mapping[str, Any],
) -> tuple[Hook, set[str]]:
    plan: list[attrs.Attribute[Any]] = []
    read: set[str] = set()
    overrides: dict[str, Any] = {}
    blank: dict[str, None] = {}
    for a in fields:
        key = next((k for k in (w.names[a.name], *w.aliases.get(a.name, ())) if k in o), None)
        if key is None:
            if a.default is attrs.NOTHING:  # a required request field that is absent
                plan.append(a.evolve(converter=_as_is, kw_only=True))
                overrides[a.name] = override(rename=w.names[a.name])
                blank[w.names[a.name]] = None
            continue
        read.add(key)
        nested = hooks.get(a.name)
        # Copies of the attributes: keyword-only without a default (cattrs then passes
        # ``name=o['Wire']``); plain values carry an identity converter, which with
        # prefer_attrib_converters makes cattrs read them with no call at all.
        evolved = a.evolve(default=attrs.NOTHING, kw_only=True)
        plan.append(evolved if nested else evolved.evolve(converter=_as_is))
        overrides[a.name] = override(rename=key, struct_hook=nested)
    fn: Hook = make_dict_structure_fn_from_attrs(
        plan,
        cl,
        converter,
        _cattrs_forbid_extra_keys=False,
        _cattrs_prefer_attrib_converters=True,
        _cattrs_detailed_validation=False,
        **overrides,
    )
    if blank:
        inner = fn
        fn = lambda o: inner(blank | o)  # noqa: E731
    return fn, read


def _keeping(fn: Hook, extras: list[str]) -> Hook:
    """``fn`` keeping the shape's unknown keys in ``unknown_fields``."""

    def structure_with_unknown_fields(o: dict[str, Any]) -> Any:
        obj = fn(o)
        obj.unknown_fields = {k: o[k] for k in extras}
        return obj

    return structure_with_unknown_fields
