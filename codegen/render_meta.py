"""Emit the run-time catalogue, the model re-export module and ``docs/actions.md``."""

from __future__ import annotations

from codegen.pytypes import arg_type, clean, limits, words
from codegen.render_models import HEADER, request_class, response_class, struct_classes
from codegen.schema import Action, Catalogue, Field


def _field_spec(f: Field) -> str:
    args = [f"wire={f.wire!r}", f"attr={f.attr!r}", f"type={f.type.text()!r}"]
    if f.required:
        args.append("required=True")
    if f.enum:
        args.append(f"enum={tuple(f.enum)!r}")
    for key in ("default", "max_length", "max_items", "minimum", "maximum", "item_max_length"):
        value = getattr(f, key)
        if value is not None:
            args.append(f"{key}={value!r}")
    if f.aliases:
        args.append(f"aliases={tuple(f.aliases)!r}")
    args.append(f"description={clean(f.description)!r}")
    if f.doc_type:
        args.append(f"doc_type={f.doc_type!r}")
    if f.notes:
        args.append(f"notes={tuple(clean(n) for n in f.notes)!r}")
    return "FieldSpec(" + ", ".join(args) + ")"


def _fields(fields: list[Field] | None) -> str:
    if not fields:
        return "()"
    return "(" + "".join(_field_spec(f) + ", " for f in fields) + ")"


def _action_spec(a: Action) -> str:
    p = a.paging
    args = [
        f"action_class={a.action_class!r}",
        f"action_name={a.name!r}",
        f"method={a.method!r}",
        f"replay_safe={a.replay_safe!r}",
        f"paging={p.kind!r}",
        f"request={_fields(a.request)}",
        f"response={_fields(a.response)}",
        f"has_data={a.response is not None!r}",
        f"description={clean(a.description)!r}",
        f"errors={tuple(a.errors)!r}",
    ]
    for key, value in (
        ("items_field", p.items),
        ("total_field", p.total),
        ("cursor_field", p.cursor),
        ("default_page_size", p.default_page_size),
        ("max_page_size", p.max_page_size),
        ("doc_id", a.doc_id),
    ):
        if value is not None:
            args.append(f"{key}={value!r}")
    if a.notes:
        args.append(f"notes={tuple(clean(n) for n in a.notes)!r}")
    return "ActionSpec(" + ", ".join(args) + ")"


def catalogue_module(cat: Catalogue) -> str:
    out = [
        HEADER + '"""The catalogue as data: actions, shared structures and error codes."""',
        "from __future__ import annotations",
        "from collections.abc import Mapping\nfrom types import MappingProxyType\n\n"
        "from cme_async._catalogue import ActionSpec, ErrorCodeSpec, FieldSpec, StructSpec",
    ]
    structs = ",\n".join(
        f"    {s.name!r}: StructSpec(name={s.name!r}, fields={_fields(s.fields)}, "
        f"description={clean(s.description)!r}"
        + (f", notes={tuple(clean(n) for n in s.notes)!r}" if s.notes else "")
        + ")"
        for s in sorted(cat.structs.values(), key=lambda s: s.name)
    )
    out.append(f"STRUCTS: Mapping[str, StructSpec] = MappingProxyType({{\n{structs},\n}})")
    actions = ",\n".join(f"    {a.key!r}: {_action_spec(a)}" for a in cat.actions)
    out.append(f"ACTIONS: Mapping[str, ActionSpec] = MappingProxyType({{\n{actions},\n}})")
    codes = ",\n".join(
        f"    {e.code!r}: ErrorCodeSpec(code={e.code!r}, family={e.family!r}, "
        f"meaning={clean(e.meaning)!r}, relogin_helps={e.relogin_helps!r}, "
        f"retry_helps={e.retry_helps!r})"
        for e in sorted(cat.errors.values(), key=lambda e: e.code)
    )
    out.append(f"ERROR_CODES: Mapping[str, ErrorCodeSpec] = MappingProxyType({{\n{codes},\n}})")
    out.append('__all__ = ["ACTIONS", "ERROR_CODES", "STRUCTS"]')
    return "\n\n\n".join(out) + "\n"


def models_module(cat: Catalogue) -> str:
    """One import point for every generated model class."""
    by_module: dict[str, list[str]] = {
        "structs": [m.name for m in struct_classes(cat)],
        "enums": sorted(cat.enums),
    }
    for a in cat.actions:
        names = by_module.setdefault(a.action_class.lower(), [])
        names.append(request_class(a).name)
        resp = response_class(a)
        if resp is not None:
            names.append(resp.name)
    lines = [HEADER + '"""Every generated model class, re-exported from one module."""', ""]
    lines.append("from __future__ import annotations")
    lines.append("")
    everything: list[str] = []
    for mod in sorted(by_module):
        names = sorted(by_module[mod])
        everything += names
        lines.append(f"from cme_async._generated.{mod} import {', '.join(names)}")
    lines.append("")
    lines.append("__all__ = [" + ", ".join(f'"{n}"' for n in sorted(everything)) + "]")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return clean(text).replace("|", "\\|")


def _table(fields: list[Field], arg: bool) -> list[str]:
    head = (
        "| Argument | Wire | Type | Limits | Description |"
        if arg
        else ("| Attribute | Wire | Type | Notes | Description |")
    )
    out = [head, "|---|---|---|---|---|"]
    for f in fields:
        wire = f"`{f.wire}`" + "".join(f" / `{a.strip()}`" for a in f.aliases)
        typ = arg_type(f.type) if arg else words(f.type)
        extra = limits(f) if arg else "; ".join([limits(f), *f.notes]).strip("; ")
        if arg and f.notes:
            extra = "; ".join([extra, *f.notes]).strip("; ")
        out.append(f"| `{f.attr}` | {wire} | `{_md(typ)}` | {_md(extra)} | {_md(f.description)} |")
    return out


def actions_doc(cat: Catalogue) -> str:
    out = [
        "<!-- Generated by `make codegen` (python -m codegen) from specs/*.yaml. "
        "Do not edit by hand. -->",
        "",
        "# CME client actions",
        "",
        f"{len(cat.actions)} actions. Call them as `await client.<namespace>.<method>(...)`; "
        "paged actions also have `client.<namespace>.iter_<method>(...)`. "
        "Every method also takes `timeout`, `max_retries` and `deadline`.",
        "",
        "| Class | Action | Method | Replay-safe | Paging |",
        "|---|---|---|---|---|",
    ]
    for a in cat.actions:
        paging = a.paging.kind if a.paging.kind != "none" else "-"
        out.append(
            f"| {a.action_class} | [{a.name}](#{a.action_class.lower()}{a.name.lower()}) | "
            f"`client.{a.action_class.lower()}.{a.method}` | "
            f"{'yes' if a.replay_safe else 'no'} | {paging} |"
        )
    for a in cat.actions:
        out += ["", f"## {a.action_class}/{a.name}", "", _md(a.description)]
        if a.title_zh or a.doc_id:
            out += [
                "",
                f"Doc: {a.title_zh} (DOC-{a.doc_id}). `POST /PaaS/{a.action_class}/{a.name}`.",
            ]
        out += [
            "",
            f"Method: `client.{a.action_class.lower()}.{a.method}(...)`"
            + (
                f"; paginator `iter_{a.method}` ({a.paging.kind}, items `{a.paging.items}`)"
                if a.paging.kind != "none"
                else ""
            )
            + f". Replay-safe: {'yes' if a.replay_safe else 'no'}.",
        ]
        out += ["", "Request:", ""] + (_table(a.request, True) if a.request else ["(no fields)"])
        if a.response is None:
            out += ["", "Response: no `Data`; the method returns None."]
        else:
            out += ["", f"Response `{a.name}Response`:", "", *_table(a.response, False)]
        if a.single_item_as:
            out += [
                "",
                f"Lenient parsing: an answer without `{a.single_item_as}` that looks like "
                "one of its items (as the documented example does) is read as a one-item list.",
            ]
        if a.errors:
            out += ["", "Errors: " + ", ".join(f"`{c}`" for c in a.errors) + "."]
        if a.notes:
            out += ["", "Documentation notes:", ""] + [f"- {_md(n)}" for n in a.notes]
    out += ["", "## Shared structures", ""]
    for s in sorted(cat.structs.values(), key=lambda s: s.name):
        out += [f"### {s.name}", "", _md(s.description), "", *_table(s.fields, False), ""]
    return "\n".join(out).rstrip() + "\n"
