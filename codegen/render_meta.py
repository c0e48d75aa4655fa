"""Emit the catalogue as package data, the re-export modules and ``docs/actions.md``."""

from __future__ import annotations

from pathlib import Path

from cme_async._catalogue import ActionSpec, Catalogue, FieldSpec, dumps
from codegen.pytypes import arg_type, clean, limits, words
from codegen.render_api import client_default
from codegen.render_models import (
    HEADER,
    request_class,
    request_structs,
    response_class,
    struct_classes,
)
from codegen.schema import texpr


def catalogue_json(cat: Catalogue) -> str:
    """``cme_async/_generated/catalogue.json``: read by ``cme_async._catalogue.catalogue()``."""
    return dumps(cat)


def models_module(cat: Catalogue) -> str:
    """One import point for every generated model class."""
    by_module: dict[str, list[str]] = {
        "structs": [m.name for m in struct_classes(cat)],
        "enums": list(cat.enums),
        "dicts": [f"{n}Dict" for n in request_structs(cat)],
    }
    for a in cat.actions.values():
        names = by_module.setdefault(a.action_class.lower(), [])
        names.append(request_class(a).name)
        resp = response_class(a)
        if resp is not None:
            names.append(resp.name)
    lines = [HEADER + '"""Every generated model class, re-exported from one module."""', ""]
    lines += ["from __future__ import annotations", ""]
    everything: list[str] = []
    for mod in sorted(by_module):
        names = sorted(by_module[mod])
        everything += names
        lines.append(f"from cme_async._generated.{mod} import {', '.join(names)}")
    lines += ["", "__all__ = [" + ", ".join(f'"{n}"' for n in sorted(everything)) + "]"]
    return "\n".join(lines) + "\n"


def exports_module(cat: Catalogue) -> str:
    """The generated public names of ``cme_async``: type-checking imports, the lazy map
    and ``__all__``, all from one list."""
    modules = {
        "cme_async._generated.enums": list(cat.enums),
        "cme_async._generated.namespaces": [
            f"{c}Actions" for c in sorted({a.action_class for a in cat.actions.values()})
        ],
        "cme_async._generated.structs": [s.name for s in cat.structs.values() if s.export],
    }
    lines = [
        HEADER + '"""The public names of the generated code, for ``cme_async/__init__.py``.\n\n'
        "``LAZY`` maps each name to the module that defines it (imported on first use, so\n"
        '``import cme_async`` stays light); type checkers see the real imports."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING",
        "",
        "if TYPE_CHECKING:",
    ]
    for mod, names in modules.items():
        lines.append(f"    from {mod} import {', '.join(sorted(names))}")
    lines += ["", "LAZY: dict[str, str] = {"]
    everything = sorted((n, mod) for mod, names in modules.items() for n in names)
    lines += [f'    "{n}": "{mod}",' for n, mod in everything]
    lines += ["}", "", "__all__ = [" + ", ".join(f'"{n}"' for n, _ in everything) + "]"]
    return "\n".join(lines) + "\n"


def errors_module(cat: Catalogue) -> str:
    """Code sets the error mapping and the retry policy read (``cme_async._envelope``)."""
    not_found = sorted(c.code for c in cat.error_codes.values() if c.not_found)
    no_relogin = sorted(
        c.code
        for c in cat.error_codes.values()
        if cat.families[c.family].sdk_error == "AuthError" and not c.relogin_helps
    )

    def frozen(name: str, doc: str, codes: list[str]) -> list[str]:
        head = [f"#: {doc}", f"{name}: frozenset[str] = frozenset(", "    {"]
        return [*head, *(f'        "{c}",' for c in codes), "    }", ")"]

    lines = [
        HEADER + '"""Error codes as ``specs/errors.yaml`` classifies them."""',
        "",
        "from __future__ import annotations",
        "",
        *frozen(
            "NOT_FOUND_CODES",
            'Codes meaning "does not exist" (the not_found family and `not_found: true`).',
            not_found,
        ),
        "",
        *frozen(
            "NO_RELOGIN_AUTH_CODES",
            "AuthFailure codes a new login cannot cure (relogin_helps: false).",
            no_relogin,
        ),
        "",
        '__all__ = ["NOT_FOUND_CODES", "NO_RELOGIN_AUTH_CODES"]',
    ]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return clean(text).replace("|", "\\|")


def _table(fields: tuple[FieldSpec, ...], arg: bool) -> list[str]:
    head = (
        "| Argument | Wire | Type | Limits | Description |"
        if arg
        else ("| Attribute | Wire | Type | Notes | Description |")
    )
    out = [head, "|---|---|---|---|---|"]
    for f in fields:
        wire = f"`{f.wire}`" + "".join(f" / `{a.strip()}`" for a in f.aliases)
        t = texpr(f.type)
        typ = arg_type(f) if arg else words(t)
        default = client_default(f) if arg else None
        when_none = [f"when None: {default[1]}"] if default else []
        extra = "; ".join([limits(f), *when_none, *f.notes]).strip("; ")
        out.append(f"| `{f.attr}` | {wire} | `{_md(typ)}` | {_md(extra)} | {_md(f.description)} |")
    return out


# The sections every method links to (call options, shared errors, paging rules).
EVERY_METHOD = (Path(__file__).parent / "shared.md").read_text(encoding="utf-8").rstrip()


def _defaults_section(actions: list[ActionSpec]) -> list[str]:
    def methods(wire: str) -> str:
        found = [
            f"`{a.action_class.lower()}.{a.method}`"
            for a in actions
            if any(f.wire == wire and client_default(f) for f in a.request)
        ]
        return ", ".join(found) if found else "none"

    no_platform = [
        f"`{a.action_class.lower()}.{a.method}`"
        for a in actions
        if not any(f.wire == "Platform" for f in a.request)
    ]
    return [
        "## Defaults from the client",
        "",
        "Where the wire body has a top-level `Platform`, the method takes `platform=` and, when",
        "it is None, sends the client's platform (`client.platform`: the `platform=` given to the",
        "client, else the signer's). Where it has a top-level `Owner`, `owner=` defaults to",
        '`{"Type": "PERSON", "Id": client.user_id}` (a client acting for no user must pass it).',
        "An explicit argument always wins. Structures inside arguments (a `SearchScope`'s",
        "`Platform` and `Owner`) are sent as given.",
        "",
        f"- `platform=` (defaulted): {methods('Platform')}.",
        f"- `owner=` (defaulted): {methods('Owner')}.",
        f"- No `platform=` (their wire body has no `Platform`): {', '.join(no_platform)}.",
    ]


def actions_doc(cat: Catalogue) -> str:
    actions = list(cat.actions.values())
    out = [
        "<!-- Generated by `make codegen` (python -m codegen) from specs/*.yaml. "
        "Do not edit by hand. -->",
        "",
        "# CME client actions",
        "",
        f"{len(actions)} actions. Call them as `await client.<namespace>.<method>(...)`; "
        "paged actions also have `client.<namespace>.iter_<method>(...)`. "
        "Every method also takes `timeout`, `max_retries` and `deadline` "
        "([Every method](#every-method)).",
        "",
        "| Class | Action | Method | Replay-safe | Paging |",
        "|---|---|---|---|---|",
    ]
    for a in actions:
        paging = a.paging if a.paging != "none" else "-"
        out.append(
            f"| {a.action_class} | [{a.action_name}](#{a.action_class.lower()}"
            f"{a.action_name.lower()}) | `client.{a.action_class.lower()}.{a.method}` | "
            f"{'yes' if a.replay_safe else 'no'} | {paging} |"
        )
    out += ["", EVERY_METHOD, "", *_defaults_section(actions)]
    for a in actions:
        out += ["", f"## {a.key}", "", _md(a.description)]
        if a.title_zh or a.doc_id:
            out += ["", f"Doc: {a.title_zh} (DOC-{a.doc_id}). `POST /PaaS/{a.key}`."]
        out += [
            "",
            f"Method: `client.{a.action_class.lower()}.{a.method}(...)`"
            + (
                f"; paginator `iter_{a.method}` ({a.paging}, items `{a.items_field}`)"
                if a.paging != "none"
                else ""
            )
            + f". Replay-safe: {'yes' if a.replay_safe else 'no'}.",
        ]
        out += ["", "Request:", ""] + (_table(a.request, True) if a.request else ["(no fields)"])
        if not a.has_data:
            out += ["", "Response: no `Data`; the method returns None."]
        else:
            out += ["", f"Response `{a.action_name}Response`:", "", *_table(a.response, False)]
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
    for s in cat.structs.values():
        out += [f"### {s.name}", "", _md(s.description), "", *_table(s.fields, False), ""]
    return "\n".join(out).rstrip() + "\n"
