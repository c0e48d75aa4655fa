"""The one cattrs converter of the wire models, configured from what the catalogue says.

Every generated model is an attrs class with snake_case attributes and a ``_wire``
class attribute (a :class:`Wire`) that the generator writes from ``specs/``: the wire
name of each attribute, the documented alternative spellings, the fields a request
must carry.  From that, and from the attribute annotations, this module builds each
class's hooks with cattrs' own generators (``make_dict_structure_fn_from_attrs`` /
``make_dict_unstructure_fn_from_attrs`` with ``override(rename=...)``):

* structuring (wire ``dict`` -> model) never checks types or enum values (CME adds
  values over time), keeps wire keys this version does not know in ``unknown_fields``,
  reads either spelling where the documentation contradicts itself, and accepts the
  documented flat item where an answer should carry a one-item list;
* unstructuring (model, or a mapping shaped like it, -> wire ``dict``) checks types and
  required fields, drops ``None``, and sends unknown fields back (known ones win).
  A bad value raises ``TypeError``/``ValueError`` naming the path
  (``search_scopes[0].owner.id is required``) before anything is sent.
"""

from __future__ import annotations

import gc
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

import attrs
import cattrs
from cattrs.gen import (
    make_dict_structure_fn_from_attrs,
    make_dict_unstructure_fn_from_attrs,
    override,
)

from ._errors import MalformedResponseError, RequestValidationError
from ._models_shape import as_written_hook, misfit
from ._wire import (
    SCALARS,
    ArgumentTypeError,
    Check,
    Limits,
    Located,
    Wire,
    breach,
    check_str,
    from_mapping,
    got,
    is_model,
    list_of,
    members,
    one_of,
)

__all__ = ["Limits", "Model", "Wire", "converter"]

#: The shared converter: ``converter.structure(data, SearchMaterialResponse)`` and
#: ``converter.unstructure(model)`` work for every generated model class.
converter = cattrs.Converter(detailed_validation=False)

M = TypeVar("M", bound="Model")
Hook = Callable[..., Any]


class Model:
    """Base of every generated model: wire dicts and JSON in and out."""

    # Not a wire field: set on results of typed calls, never sent, compared or printed.
    __slots__ = ("_request_id",)
    _wire: ClassVar[Wire]

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-Id`` of the answer this result came from (quote it to Tencent
        support); None for a model you built or read with ``from_dict``."""
        return getattr(self, "_request_id", None)

    def to_dict(self) -> dict[str, Any]:
        """The wire form: PascalCase names, None fields left out, unknown fields included.

        An answer (or a structure) is written back as it holds its values, whatever
        CME sent: structuring never checks types, so neither does this, and
        ``from_dict(m.to_dict()) == m`` always holds.  A request class's ``to_dict()``
        is the body that would be sent, so it checks types and required fields.
        """
        cl = type(self)
        hook = unstructure_hook(cl) if cl.__dict__["_wire"].action else as_written_hook(cl)
        result: dict[str, Any] = hook(self)
        return result

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as JSON text (``kwargs`` go to ``json.dumps``; non-ASCII text is
        kept as it is unless ``ensure_ascii=True``)."""
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """The model of a wire dict (the inverse of :meth:`to_dict`)."""
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                raise TypeError(
                    f"{cls.__name__}.from_dict: expected a mapping of wire names (a dict), "
                    f"got {type(data).__name__}"
                )
            data = dict(data)
        result: M = structure_hook(cls)(data)
        return result


def masked(value: object) -> str:
    """The repr of a credential field (``attrs.field(repr=masked)``): never its value."""
    return "None" if value is None else "'***'"


def _struct(cl: type) -> Check:
    def check_struct(value: Any) -> dict[str, Any]:
        # (the dict test first: it is what most callers pass, and cheaper than Mapping's)
        if value.__class__ is dict or (not isinstance(value, cl) and isinstance(value, Mapping)):
            value = from_mapping(cl, value)
        elif not isinstance(value, cl):
            got(value, f"{cl.__name__} or a mapping")
        return unstructure_hook(cl)(value)  # type: ignore[no-any-return]

    return check_struct


def _check_for(t: Any) -> tuple[Check, str]:
    """The unstructure check of an attribute annotation and its words for errors."""
    options = members(t)
    if len(options) > 1:
        parts = [_check_for(x) for x in options]
        words = " or ".join(w for _, w in parts)
        return one_of([c for c, _ in parts], words), words
    t = options[0]
    if t in SCALARS:
        return SCALARS[t]
    if is_model(t):
        return _struct(t), t.__name__
    origin = typing.get_origin(t)
    if origin is Literal:
        return check_str, "str"
    if origin in (list, Sequence):
        item, words = _check_for(typing.get_args(t)[0])
        return list_of(item), f"list of {words}"
    raise TypeError(f"no wire check for the annotation {t!r}")  # pragma: no cover


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


# ---- unstructuring (model or mapping -> wire) ---------------------------------------

_UNSTRUCTURE: dict[type, Hook] = {}


def _field(cl: type, attr: str, check: Check, required: bool) -> Check:
    where = f" is required ({cl.__name__}.{cl.__dict__['_wire'].names[attr]})"

    def check_field(value: Any) -> Any:
        if value is None:
            if required:
                raise ArgumentTypeError(attr, where)
            return None
        try:
            return check(value)
        except Located as exc:
            exc.prefix(attr)
            raise

    return check_field


def unstructure_hook(cl: type) -> Hook:
    """The hook turning a ``cl`` instance into its wire dict (built once, on first use)."""
    hook = _UNSTRUCTURE.get(cl)
    if hook is not None:
        return hook

    def unstructure(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = fn(obj)
        extra = obj.unknown_fields
        if extra:
            for key, value in extra.items():
                out.setdefault(key, value)
        return out

    _UNSTRUCTURE[cl] = unstructure
    attrs.resolve_types(cl)
    w: Wire = cl.__dict__["_wire"]
    plan = [a for a in attrs.fields(cl) if a.name != "unknown_fields"]
    overrides: dict[str, Any] = {}
    for a in plan:
        required = a.name in w.required
        check, _ = _check_for(a.type)
        overrides[a.name] = override(
            rename=w.names[a.name],
            unstruct_hook=_field(cl, a.name, check, required),
            omit_if_default=False if required or a.name in w.always else None,
        )
    fn: Hook = make_dict_unstructure_fn_from_attrs(
        plan, cl, converter, _cattrs_omit_if_default=True, **overrides
    )
    return unstructure


converter.register_structure_hook_factory(is_model, structure_hook)
converter.register_unstructure_hook_factory(is_model, unstructure_hook)


# ---- what the generated methods call ------------------------------------------------


def request_body(cl: type, values: dict[str, Any], where: str) -> dict[str, Any]:
    """The wire body of an action call; argument errors name the method and the field.

    A type error raises ``TypeError``/``ValueError``; a value that breaks a documented
    limit raises ``RequestValidationError`` (an ``InvalidParameterError``). Either way
    nothing is sent.
    """
    try:
        body: dict[str, Any] = unstructure_hook(cl)(cl(**values))
    except TypeError as exc:
        raise TypeError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    bad = breach(cl, body)
    if bad is not None:
        path, wire, words = bad
        raise RequestValidationError(
            f"{where}: {path}: {words} (documented limit; nothing was sent)",
            action=cl.__dict__["_wire"].action,
            field=wire,
        )
    return body


def person(user_id: str | None) -> dict[str, str] | None:
    """The default ``Owner``: the client's user as a PERSON (None for a client with no user)."""
    return None if user_id is None else {"Type": "PERSON", "Id": user_id}


def parse(cl: type[M], data: Any, action: str, request_id: str | None = None) -> M:
    """Structure an answer's ``Data`` (absent ``Data`` reads as an empty object) and
    record the answer's ``request_id`` on the result.

    A ``Data`` whose shape contradicts the model (an array where an object belongs)
    raises ``MalformedResponseError`` rather than a bare ``TypeError``.

    The cyclic garbage collector is paused for the structuring (a few hundred
    microseconds, nothing awaited): a 50-item answer allocates ~800 acyclic objects,
    and collections triggered in the middle cost ~300 us per call
    (benchmarks/README.md, issue 14). Reference counting still frees everything.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        result: M = (_STRUCTURE.get(cl) or structure_hook(cl))({} if data is None else data)
    except (TypeError, AttributeError) as exc:
        where = misfit(cl, data, "Data") or str(exc)
        raise MalformedResponseError(
            f"Data does not match the documented shape: {where}",
            _snippet(data),
            action=action,
            http_status=None,
            request_id=request_id,
        ) from exc
    finally:
        if paused:
            gc.enable()
    object.__setattr__(result, "_request_id", request_id)
    return result


def _snippet(data: Any) -> str:
    try:
        return json.dumps(data, ensure_ascii=False)[:200]
    except (TypeError, ValueError):
        return repr(data)[:200]
