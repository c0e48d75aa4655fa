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

from cattrs.gen import (
    override,
)

from . import _structure
from ._errors import MalformedResponseError, RequestValidationError
from ._models_shape import as_written_hook, misfit, wire_writer
from ._structure import converter, structure_hook
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


def _checked(cl: type, a: Any, w: Wire) -> Any:
    required = a.name in w.required
    check, _ = _check_for(a.type)
    return override(
        rename=w.names[a.name],
        unstruct_hook=_field(cl, a.name, check, required),
        omit_if_default=False if required or a.name in w.always else None,
    )


def unstructure_hook(cl: type) -> Hook:
    """The hook turning a ``cl`` instance into its wire dict, each value checked against
    the catalogue (built once, on first use)."""
    return wire_writer(cl, _UNSTRUCTURE, converter, _checked)


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
        hook = _structure._STRUCTURE.get(cl) or structure_hook(cl)
        result: M = hook({} if data is None else data)
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
