"""How catalogue types and fields read in Python: annotations and docstring text."""

from __future__ import annotations

import textwrap

from cme_async._catalogue import FieldSpec
from codegen.schema import SCALARS, TypeExpr, texpr

WORDS = {"string": "str", "integer": "int", "float": "float", "boolean": "bool", "any": "any"}


def model_type(t: TypeExpr) -> str:
    """The annotation of a model attribute."""
    if t.kind == "scalar":
        return SCALARS[t.name]
    if t.kind == "struct":
        return t.name
    if t.kind == "list":
        return f"list[{model_type(t.items[0])}]"
    return " | ".join(model_type(i) for i in t.items)


def literal(f: FieldSpec) -> str | None:
    """``Literal[...]`` of a field's documented values (or'ed with its StrEnum), if any."""
    if not f.enum:
        return None
    quote = "" if f.type in ("integer", "list[integer]") else '"'
    lit = "Literal[" + ", ".join(f"{quote}{v}{quote}" for v in f.enum) + "]"
    return f"{lit} | {f.enum_name}" if f.enum_name else lit


def _arg(t: TypeExpr, lit: str | None) -> str:
    if t.kind == "scalar":
        return lit if lit is not None and t.name in ("string", "integer") else SCALARS[t.name]
    if t.kind == "struct":
        return f"{t.name} | {t.name}Dict"
    if t.kind == "list":
        return f"Sequence[{_arg(t.items[0], lit)}]"
    return " | ".join(_arg(i, lit) for i in t.items)


def arg_type(f: FieldSpec) -> str:
    """The annotation of an argument: documented values as ``Literal``, structures as the
    model or a ``TypedDict`` of their wire shape."""
    return _arg(texpr(f.type), literal(f))


def words(t: TypeExpr) -> str:
    if t.kind == "scalar":
        return WORDS[t.name]
    if t.kind == "struct":
        return t.name
    if t.kind == "list":
        return f"list of {words(t.items[0])}"
    return " or ".join(words(i) for i in t.items)


def limits(f: FieldSpec) -> str:
    parts = []
    if f.required:
        parts.append("required")
    if f.default is not None:
        parts.append(f"server default {f.default!r}")
    if f.max_length is not None:
        parts.append(f"at most {f.max_length} characters")
    if f.max_items is not None:
        parts.append(f"at most {f.max_items} items")
    if f.item_max_length is not None:
        parts.append(f"each at most {f.item_max_length} characters")
    if f.minimum is not None:
        parts.append(f"minimum {f.minimum}")
    if f.maximum is not None:
        parts.append(f"maximum {f.maximum}")
    if f.enum:
        parts.append(
            "documented values: " + ", ".join(f.enum) + (f" ({f.enum_name})" if f.enum_name else "")
        )
    if f.unchecked:
        parts.append("not checked before sending: " + f.unchecked)
    if f.secret:
        parts.append("a credential: shown as '***' in repr")
    return "; ".join(parts)


def clean(text: str) -> str:
    return " ".join(text.replace("\\", "\\\\").replace('"""', "'''").split())


def field_doc(
    f: FieldSpec, indent: str, *, wire_types: bool = True, default: str | None = None
) -> str:
    """One ``name: text`` docstring entry, wrapped."""
    text = clean(f.description)
    extra = [
        f"Wire ``{f.wire}``"
        + (f" (also read from {', '.join(repr(a) for a in f.aliases)})" if f.aliases else "")
    ]
    if wire_types:
        extra.append(words(texpr(f.type)))
    lim = limits(f)
    if lim:
        extra.append(lim)
    if default:
        extra.append(f"when None: {default}")
    if f.always_present:
        extra.append("never None: " + clean(f.always_present))
    if f.notes:
        extra.append("Note: " + " ".join(clean(n) for n in f.notes))
    body = f"{f.attr}: {text} [{'; '.join(extra)}]"
    return textwrap.fill(body, width=96, initial_indent=indent, subsequent_indent=indent + "    ")


def wrap(text: str, indent: str) -> str:
    return textwrap.fill(clean(text), width=96, initial_indent=indent, subsequent_indent=indent)
