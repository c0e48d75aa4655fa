"""Emit the action namespaces (typed methods and paginators) and the client's mixin."""

from __future__ import annotations

import textwrap

from cme_async._catalogue import ActionSpec, Catalogue, FieldSpec
from codegen.loader import resolve
from codegen.pytypes import arg_type, clean, field_doc, model_type, wrap
from codegen.render_models import HEADER
from codegen.schema import snake, texpr

SHARED = "docs/actions.md#every-method"
CALL_ARGS = [
    "        timeout: float | httpx.Timeout | None = None,",
    "        max_retries: int | None = None,",
    "        deadline: float | None = None,",
]
FORWARD = "timeout=timeout, max_retries=max_retries, deadline=deadline"


def _item_type(a: ActionSpec, cat: Catalogue) -> str:
    items = resolve(a.response, a.items_field or "", cat.structs)[-1]
    return model_type(texpr(items.type).items[0])


def _attr_path(a: ActionSpec, wire_path: str | None, cat: Catalogue) -> str | None:
    if wire_path is None:
        return None
    return ".".join(f.attr for f in resolve(a.response, wire_path, cat.structs))


def _raises(a: ActionSpec, cat: Catalogue) -> list[str]:
    """The error families this action documents, one line per SDK error class."""
    by_class: dict[str, list[str]] = {}
    for code in a.errors:
        err = cat.error_codes[code]
        cls = cat.families[err.family].sdk_error
        by_class.setdefault(cls, []).append(f"``{code}``")
    out = []
    for cls in sorted(by_class):
        out += textwrap.wrap(
            f"{cls}: " + ", ".join(by_class[cls]) + ".",
            width=92,
            initial_indent="            ",
            subsequent_indent="                ",
        )
    return ["", "        Raises:", *out] if out else []


# Top-level request fields the client fills when the caller passes None:
# wire name -> (type, expression, words for the docstring).
CLIENT_DEFAULTS = {
    "Platform": ("string", "self._client.platform", "the client's platform"),
    "Owner": ("Entity", "_c.person(self._client.user_id)", "the client's user, as a PERSON"),
}


def client_default(f: FieldSpec) -> tuple[str, str] | None:
    """``(expression, words)`` when the client supplies this top-level request field."""
    known = CLIENT_DEFAULTS.get(f.wire)
    if known is None or known[0] != f.type:
        return None
    return known[1], known[2]


def _signature(fields: list[FieldSpec], extra: list[str]) -> list[str]:
    out = []
    for f in fields:
        t = arg_type(f)
        if f.required and client_default(f) is None:
            out.append(f"        {f.attr}: {t},")
        else:
            out.append(f"        {f.attr}: {t} | None = None,")
    return out + extra + CALL_ARGS


def _ordered(fields: tuple[FieldSpec, ...]) -> list[FieldSpec]:
    """Required arguments first, then optional ones (client defaults count as optional)."""
    required = [f for f in fields if f.required and client_default(f) is None]
    return required + [f for f in fields if f not in required]


def _values(fields: list[FieldSpec], extra: tuple[str, ...] = ()) -> str:
    items = []
    for f in fields:
        default = client_default(f)
        value = f.attr if default is None else f"{default[0]} if {f.attr} is None else {f.attr}"
        items.append(f'"{f.attr}": {value}')
    items += [f'"{n}": {n}' for n in extra]
    return "{" + ", ".join(items) + "}"


def _arg_doc(f: FieldSpec) -> str:
    default = client_default(f)
    return field_doc(f, "            ", default=default[1] if default else None)


def _summary(a: ActionSpec) -> list[str]:
    mode = (
        "replay-safe (retried on transient errors)"
        if a.replay_safe
        else "not replay-safe (never retried once it may have reached CME)"
    )
    line = f"``POST /PaaS/{a.key}``; {mode}."
    if a.paging != "none":
        line += f" Paged: :meth:`iter_{a.method}`."
    if a.notes:
        anchor = f"{a.action_class.lower()}{a.action_name.lower()}"
        line += f" Documentation oddities: docs/actions.md#{anchor}."
    return [f'        """{clean(a.description)}', "", wrap(line, "        ")]


def emit_method(a: ActionSpec, cat: Catalogue) -> str:
    resp = f"{a.action_name}Response" if a.has_data else "None"
    out = [f"    async def {a.method}(", "        self,", "        *,"]
    out += _signature(_ordered(a.request), [])
    out.append(f"    ) -> {resp}:")
    doc = [*_summary(a), "", "        Args:"]
    doc += [_arg_doc(f) for f in a.request] or ["            (none)"]
    doc += ["", "        Returns:"]
    if a.has_data:
        doc.append(f"            {resp}: the answer's ``Data``.")
    else:
        doc.append("            None: the answer carries no ``Data``.")
    doc += _raises(a, cat)
    doc += [
        "",
        f"        Call options and the errors every call may raise: {SHARED}.",
        '        """',
    ]
    out += doc
    where = f"{a.action_class.lower()}.{a.method}"
    values = _values(list(a.request))
    out.append(f'        body = _c.request_body({a.action_name}Request, {values}, "{where}")')
    method = "call_raw" if a.has_data else "call"
    call = (
        f'await self._client.{method}("{a.action_class}", "{a.action_name}", body, {FORWARD}, '
        f"replay_safe={a.replay_safe})"
    )
    if a.has_data:
        out.append(f"        raw = {call}")
        out.append(f'        return _c.parse({resp}, raw.data, "{a.key}", raw.request_id)')
    else:
        out.append(f"        {call}")
    return "\n".join(out)


def pages_spec(a: ActionSpec, cat: Catalogue) -> str:
    args = [
        f'"{a.action_class}"',
        f'"{a.action_name}"',
        f"{a.action_name}Response",
        f'"{a.paging}"',
        f'"{_attr_path(a, a.items_field, cat)}"',
    ]
    for key, value in (
        ("total", _attr_path(a, a.total_field, cat)),
        ("cursor", _attr_path(a, a.cursor_field, cat)),
        ("item_key", snake(a.item_key) if a.item_key else None),
    ):
        if value is not None:
            args.append(f'{key}="{value}"')
    if a.one_object_filters:
        args.append(f"one_object_filters={tuple(a.one_object_filters)!r}")
    for key, number in (
        ("default_page_size", a.default_page_size),
        ("max_page_size", a.max_page_size),
    ):
        if number is not None:
            args.append(f"{key}={number}")
    args.append(f"replay_safe={a.replay_safe}")
    return f"_{snake(a.action_name).upper()}_PAGES = _p.Pages({', '.join(args)})"


def emit_paginator(a: ActionSpec, cat: Catalogue) -> str:
    item = _item_type(a, cat)
    fields = _ordered(a.request)
    if a.paging == "offset":
        fields = [f for f in fields if f.wire != "Limit"]
        extra = ["        page_size: int | None = None,", "        max_items: int | None = None,"]
        paging = "``page_size`` (the ``Limit`` of each request) replaces ``limit``"
    else:
        fields = [f for f in fields if f.wire != "StartTimeOffset"]
        extra = ["        start_time_offset: float = 0.0,", "        max_items: int | None = None,"]
        paging = "``start_time_offset`` defaults to 0"
    out = [f"    def iter_{a.method}(", "        self,", "        *,"]
    out += _signature(fields, extra)
    out.append(f"    ) -> AsyncIterator[{item}]:")
    out.append(f'        """Iterate over ``{a.items_field}`` of :meth:`{a.method}`, page by page.')
    out.append("")
    out.append(
        wrap(
            f"Arguments as for :meth:`{a.method}`; {paging}; ``max_items`` stops after that "
            f"many items. They are checked now, before any request. How pages end: "
            "docs/actions.md#paging.",
            "        ",
        )
    )
    out.append('        """')
    extra_names = ("start_time_offset",) if a.paging == "time_window" else ()
    where = f"{a.action_class.lower()}.iter_{a.method}"
    out.append(
        f"        body = _c.request_body({a.action_name}Request, "
        f'{_values(fields, extra_names)}, "{where}")'
    )
    size = "page_size=page_size, " if a.paging == "offset" else ""
    out.append(
        f"        return _p.paginate(self._client.call, _{snake(a.action_name).upper()}_PAGES, "
        f'body, where="{where}", {size}max_items=max_items, {FORWARD})'
    )
    return "\n".join(out)


def namespaces_module(cat: Catalogue) -> str:
    imports: dict[str, set[str]] = {}
    structs = imports.setdefault("cme_async._generated.structs", set())
    dicts = imports.setdefault("cme_async._generated.dicts", set())
    enums = imports.setdefault("cme_async._generated.enums", set())
    for a in cat.actions.values():
        names = imports.setdefault(f"cme_async._generated.{a.action_class.lower()}", set())
        names.add(f"{a.action_name}Request")
        if a.has_data:
            names.add(f"{a.action_name}Response")
        for f in a.request:
            structs.update(texpr(f.type).structs())
            dicts.update(f"{n}Dict" for n in texpr(f.type).structs())
            if f.enum_name:
                enums.add(f.enum_name)
        if a.paging != "none":
            structs.add(_item_type(a, cat))
    lines = [
        HEADER + '"""Action namespaces of ``AsyncCmeClient``: one class per ActionClass."""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import AsyncIterator, Sequence",
        "from typing import TYPE_CHECKING, Literal",
        "",
        "import httpx",
        "",
        "from cme_async import _converter as _c",
        "from cme_async import _paging as _p",
    ]
    for mod in sorted(imports):
        if imports[mod]:
            lines.append(f"from {mod} import {', '.join(sorted(imports[mod]))}")
    lines += ["", "if TYPE_CHECKING:", "    from cme_async._client import AsyncCmeClient", ""]
    parts = ["\n".join(lines)]
    parts.append("\n".join(pages_spec(a, cat) for a in cat.actions.values() if a.paging != "none"))
    classes = sorted({a.action_class for a in cat.actions.values()})
    for cls in classes:
        actions = [a for a in cat.actions.values() if a.action_class == cls]
        body = [
            f"class {cls}Actions:",
            f'    """The ``{cls}`` actions (``client.{cls.lower()}``): {len(actions)} methods."""',
            "",
            '    __slots__ = ("_client",)',
            "",
            "    def __init__(self, client: AsyncCmeClient) -> None:",
            "        self._client = client",
        ]
        for a in actions:
            body += ["", emit_method(a, cat)]
            if a.paging != "none":
                body += ["", emit_paginator(a, cat)]
        parts.append("\n".join(body))
    exported = [f"{c}Actions" for c in classes]
    parts.append("__all__ = [" + ", ".join(f'"{n}"' for n in exported) + "]")
    return "\n\n\n".join(parts) + "\n"


def mixin_module(cat: Catalogue) -> str:
    """``ActionNamespaces``, the client's mixin, kept apart from the namespaces so that
    ``import cme_async`` does not load every model: a namespace (and its models) is
    imported the first time ``client.<namespace>`` is used."""
    classes = sorted({a.action_class for a in cat.actions.values()})
    lines = [
        HEADER + '"""The ``client.<namespace>`` attributes; each namespace loads on first use."""',
        "",
        "from __future__ import annotations",
        "",
        "import functools",
        "from typing import TYPE_CHECKING, cast",
        "",
        "if TYPE_CHECKING:",
        "    from cme_async._client import AsyncCmeClient",
        "    from cme_async._generated.namespaces import "
        + ", ".join(f"{c}Actions" for c in classes),
        "",
        "",
        "class ActionNamespaces:",
        '    """Mixin of ``AsyncCmeClient``: one cached attribute per ActionClass."""',
    ]
    for cls in classes:
        lines += [
            "",
            "    @functools.cached_property",
            f"    def {cls.lower()}(self) -> {cls}Actions:",
            f'        """The ``{cls}`` actions."""',
            f"        from cme_async._generated.namespaces import {cls}Actions",
            "",
            f'        return {cls}Actions(cast("AsyncCmeClient", self))',
        ]
    lines += ["", "", '__all__ = ["ActionNamespaces"]']
    return "\n".join(lines) + "\n"
