"""Emit the action namespaces (typed methods and paginators) of the client."""

from __future__ import annotations

import textwrap

from codegen.pytypes import arg_type, clean, field_doc, model_type, wrap
from codegen.render_models import HEADER
from codegen.schema import Action, Catalogue, Field, snake

CALL_ARGS_DOC = [
    "        timeout: Per-attempt timeout in seconds (the client's default when None).",
    "        max_retries: Retries for this call (the client's default when None).",
    "        deadline: Time limit in seconds for the whole call, every attempt and wait",
    "            included (the client's default when None).",
]
CALL_ARGS = [
    "        timeout: float | httpx.Timeout | None = None,",
    "        max_retries: int | None = None,",
    "        deadline: float | None = None,",
]
FORWARD = "timeout=timeout, max_retries=max_retries, deadline=deadline"


def _find(fields: list[Field], path: str, cat: Catalogue) -> list[Field]:
    """The chain of fields a dotted wire path walks through."""
    chain: list[Field] = []
    current = fields
    for part in path.split("."):
        f = next(f for f in current if f.wire == part)
        chain.append(f)
        if f.type.kind == "struct":
            current = cat.structs[f.type.name].fields
    return chain


def _item_type(a: Action, cat: Catalogue) -> str:
    assert a.response is not None and a.paging.items is not None
    items = _find(a.response, a.paging.items, cat)[-1]
    return model_type(items.type.items[0])


def _raises(a: Action, cat: Catalogue) -> list[str]:
    out = [
        "    Raises:",
        "        TypeError: a required argument is missing or an argument has the wrong type;",
        "            nothing is sent.",
        "        ValueError: an argument cannot be sent (an unknown key in a mapping, a",
        "            non-finite number); nothing is sent.",
    ]
    by_class: dict[str, list[str]] = {}
    for code in a.errors:
        err = cat.errors[code]
        cls = cat.families[err.family]["sdk_error"]
        by_class.setdefault(cls, []).append(f"``{code}`` ({clean(err.meaning)})")
    for cls in sorted(by_class):
        text = clean(f"{cls}: " + "; ".join(by_class[cls]))
        out += textwrap.wrap(
            text, width=92, initial_indent="        ", subsequent_indent="            "
        )
    out.append("        CmeError: any other failure (authentication, rate limit, server,")
    out.append("            connection, timeout).")
    return out


def _signature(fields: list[Field], extra: list[str]) -> list[str]:
    out = []
    for f in fields:
        if f.required:
            out.append(f"        {f.attr}: {arg_type(f.type)},")
        else:
            out.append(f"        {f.attr}: {arg_type(f.type)} | None = None,")
    return out + extra + CALL_ARGS


def _values(fields: list[Field]) -> str:
    return "{" + ", ".join(f'"{f.attr}": {f.attr}' for f in fields) + "}"


def _summary(a: Action) -> list[str]:
    mode = (
        "safe to replay (retried on transient errors)"
        if a.replay_safe
        else ("not safe to replay (never retried once it may have reached CME)")
    )
    line = f"``POST /PaaS/{a.action_class}/{a.name}``; {mode}."
    if a.paging.kind != "none":
        line += f" Paged ({a.paging.kind}): see :meth:`iter_{a.method}`."
    if a.notes:
        line += (
            f" The documentation of this action has {len(a.notes)} recorded oddities: "
            "see docs/actions.md."
        )
    return [f'        """{clean(a.description)}', "", wrap(line, "        ")]


def emit_method(a: Action, cat: Catalogue) -> str:
    where = f"{a.action_class.lower()}.{a.method}"
    resp = f"{a.name}Response" if a.response is not None else "None"
    out = ["    async def " + a.method + "(", "        self,", "        *,"]
    out += _signature(a.request, [])
    out.append(f"    ) -> {resp}:")
    doc = [*_summary(a), "", "        Args:"]
    doc += [field_doc(f, "            ") for f in a.request]
    doc += [line.replace("        ", "            ", 1) for line in CALL_ARGS_DOC]
    doc += ["", "        Returns:"]
    if a.response is None:
        doc.append("            None: the answer carries no ``Data``.")
    else:
        doc.append(
            f"            {resp}: the answer's ``Data`` (every field None when it is absent)."
        )
    doc += [""] + ["    " + line for line in _raises(a, cat)] + ['        """']
    out += doc
    out.append(
        f'        body = _c.request_body(_CODEC_{a.name}Request, {_values(a.request)}, "{where}")'
    )
    call = f'await self._client.call("{a.action_class}", "{a.name}", body, {FORWARD})'
    if a.response is None:
        out.append(f"        {call}")
    else:
        out.append(f"        data = {call}")
        out.append(f'        return _c.parse(_s_{a.name}Response, data, "{a.key}")')
    return "\n".join(out)


def emit_paginator(a: Action, cat: Catalogue) -> str:
    assert a.response is not None
    p = a.paging
    where = f"{a.action_class.lower()}.iter_{a.method}"
    item = _item_type(a, cat)
    chain = _find(a.response, p.items or "", cat)
    out = [f"    def iter_{a.method}(", "        self,", "        *,"]
    if p.kind == "offset":
        fields = [f for f in a.request if f.wire != "Limit"]
        extra = ["        page_size: int | None = None,", "        max_items: int | None = None,"]
    else:
        fields = [f for f in a.request if f.wire != "StartTimeOffset"]
        extra = ["        start_time_offset: float = 0.0,", "        max_items: int | None = None,"]
    out += _signature(fields, extra)
    out.append(f"    ) -> AsyncIterator[{item}]:")
    items_attr = ".".join(f.attr for f in chain)
    doc = [f'        """Iterate over ``{p.items}`` of :meth:`{a.method}` across pages.', ""]
    if p.kind == "offset":
        doc.append(
            wrap(
                "Offset paging: asks for ``page_size`` items a page (default "
                f"{p.default_page_size or p.max_page_size or 20}"
                + (f", at most {p.max_page_size}" if p.max_page_size else "")
                + f") from ``offset`` on and stops at ``{p.total}``, at a short page or at "
                "``max_items``.",
                "        ",
            )
        )
    else:
        doc.append(
            wrap(
                "Time-window paging: queries from ``start_time_offset`` (default 0) to "
                f"``end_time_offset``, then again from ``{p.cursor}`` until it is -1, stops "
                "moving or reaches the end, or "
                "until ``max_items``; an item repeated at a window boundary is yielded once.",
                "        ",
            )
        )
    doc += [
        "",
        "        Arguments are checked when this method is called, before any request; the",
        "        call options apply to each request.",
        "",
        "        Args:",
    ]
    doc += [field_doc(f, "            ") for f in fields]
    if p.kind == "offset":
        doc.append("            page_size: Items per request (the ``Limit`` sent).")
    else:
        doc.append("            start_time_offset: Where the first window starts, seconds.")
    doc.append("            max_items: Stop after this many items (all when None).")
    doc += [line.replace("        ", "            ", 1) for line in CALL_ARGS_DOC]
    doc += ["", "        Yields:", f"            {item}: one item at a time, across pages."]
    doc += [""] + ["    " + line for line in _raises(a, cat)]
    doc.append('        """')
    out += doc
    values = {f.attr: f.attr for f in fields}
    if p.kind == "time_window":
        values["start_time_offset"] = "start_time_offset"
    out.append(f'        where = "{where}"')
    body_values = "{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}"
    out.append(f"        body = _c.request_body(_CODEC_{a.name}Request, {body_values}, where)")
    out.append("        _p.check_max_items(max_items, where)")
    client_call = f'await self._client.call("{a.action_class}", "{a.name}", '
    if p.kind == "offset":
        total = _find(a.response, p.total or "", cat)[-1].attr if p.total else None
        out.append(
            "        size = _p.page_size_for("
            f"page_size, {p.default_page_size}, {p.max_page_size}, where)"
        )
        out.append("")
        out.append(
            "        async def fetch(offset: int, limit: int) -> "
            f"tuple[Sequence[{item}], int | None]:"
        )
        out.append(
            f"            data = {client_call}"
            f'{{**body, "Offset": offset, "Limit": limit}}, {FORWARD})'
        )
        out.append(f'            page = _c.parse(_s_{a.name}Response, data, "{a.key}")')
        out.append(
            f"            return page.{items_attr} or [], {'page.' + total if total else 'None'}"
        )
        out.append("")
        out.append(
            '        return _p.iter_offset(fetch, offset=body.get("Offset", 0), '
            "page_size=size, max_items=max_items)"
        )
    else:
        head, leaf = chain[0], chain[-1]
        cursor = _find(a.response, p.cursor or "", cat)[-1].attr
        out.append("")
        out.append(
            f"        async def fetch(start: float) -> tuple[Sequence[{item}], float | None]:"
        )
        out.append(
            f'            data = {client_call}{{**body, "StartTimeOffset": start}}, {FORWARD})'
        )
        out.append(f'            info = _c.parse(_s_{a.name}Response, data, "{a.key}").{head.attr}')
        out.append("            if info is None:")
        out.append("                return [], None")
        out.append(f"            return info.{leaf.attr} or [], info.{cursor}")
        out.append("")
        key_attr = snake(p.item_key) if p.item_key else None
        key = f"lambda item: item.{key_attr}" if key_attr else "None"
        out.append(
            "        return _p.iter_time_window(fetch, start=start_time_offset, "
            f"end=end_time_offset, max_items=max_items, key={key})"
        )
    return "\n".join(out)


def namespaces_module(cat: Catalogue) -> str:
    imports: dict[str, set[str]] = {}
    for a in cat.actions:
        mod = f"cme_async._generated.{a.action_class.lower()}"
        names = imports.setdefault(mod, set())
        names.add(f"_CODEC_{a.name}Request")
        if a.response is not None:
            names.update({f"{a.name}Response", f"_s_{a.name}Response"})
        for f in a.request:
            imports.setdefault("cme_async._generated.structs", set()).update(f.type.structs())
        if a.paging.kind != "none":
            imports.setdefault("cme_async._generated.structs", set()).add(_item_type(a, cat))
    lines = [
        HEADER + '"""Action namespaces of ``AsyncCmeClient``: one class per ActionClass."""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import AsyncIterator, Mapping, Sequence",
        "from typing import TYPE_CHECKING, Any",
        "",
        "import httpx",
        "",
        "from cme_async import _converter as _c",
        "from cme_async import _paging as _p",
    ]
    for mod in sorted(imports):
        lines.append(f"from {mod} import {', '.join(sorted(imports[mod]))}")
    lines += ["", "if TYPE_CHECKING:", "    from cme_async._client import AsyncCmeClient", ""]
    parts = ["\n".join(lines)]
    for cls in cat.action_classes():
        actions = [a for a in cat.actions if a.action_class == cls]
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
            if a.paging.kind != "none":
                body += ["", emit_paginator(a, cat)]
        parts.append("\n".join(body))
    names = [f"{c}Actions" for c in cat.action_classes()]
    parts.append("__all__ = [" + ", ".join(f'"{n}"' for n in sorted(names)) + "]")
    return "\n\n\n".join(parts) + "\n"


def mixin_module(cat: Catalogue) -> str:
    """``ActionNamespaces``, the client's mixin, kept apart from the namespaces so that
    ``import cme_async`` does not load every model: a namespace (and its models) is
    imported the first time ``client.<namespace>`` is used."""
    classes = cat.action_classes()
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
