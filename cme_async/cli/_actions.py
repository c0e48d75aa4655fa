"""Typed subcommands generated from the catalogue when ``cme`` starts:
``cme material describe-materials --material-ids A,B``.

Each request field becomes an option: strings, numbers and booleans as such, lists
of scalars as comma-separated values, structures as JSON. ``--data`` gives a base
body the options are merged into. Help text comes from the catalogue's docs.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

import typer

from .._catalogue import ActionSpec, FieldSpec, catalogue
from ._common import read_data, settings_of, show_data
from ._errors import CliError, Exit

_SCALARS: dict[str, type] = {"string": str, "integer": int, "float": float, "boolean": bool}


def kebab(name: str) -> str:
    """``DescribeMaterials`` -> ``describe-materials``; ``WHRatio`` -> ``wh-ratio``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


def _list_of_scalars(kind: str) -> str | None:
    if kind.startswith("list[") and kind.endswith("]") and kind[5:-1] in _SCALARS:
        return kind[5:-1]
    return None


def _parameter(field: FieldSpec) -> inspect.Parameter:
    flag = "--" + kebab(field.wire)
    doc = " ".join(field.description.split()) or field.wire
    if field.required:
        doc += " [required]"
    kind = field.type
    annotation: Any
    if kind == "boolean":
        annotation = Annotated[
            bool | None, typer.Option(f"{flag}/--no-{flag[2:]}", help=doc, show_default=False)
        ]
    elif kind in _SCALARS:
        extra = f" One of: {', '.join(field.enum)}." if field.enum else ""
        annotation = Annotated[_SCALARS[kind] | None, typer.Option(flag, help=doc + extra)]
    elif _list_of_scalars(kind):
        annotation = Annotated[str | None, typer.Option(flag, help=doc + " Comma-separated.")]
    else:
        annotation = Annotated[
            str | None, typer.Option(flag, help=f"{doc} JSON ({kind}).", metavar="JSON")
        ]
    return inspect.Parameter(
        field.attr, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )


def _value(field: FieldSpec, raw: Any) -> Any:
    if field.type in _SCALARS:
        return raw
    item = _list_of_scalars(field.type)
    if item is not None:
        parts = [part.strip() for part in str(raw).split(",") if part.strip()]
        try:
            return [_SCALARS[item](part) for part in parts]
        except ValueError:
            raise CliError(
                f"--{kebab(field.wire)} takes comma-separated {item} values, got {raw!r}"
            ) from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"--{kebab(field.wire)} must be JSON ({field.type}): {exc.msg} at column {exc.colno}",
            Exit.USAGE,
        ) from None
    except RecursionError:
        raise CliError(f"--{kebab(field.wire)} is nested too deeply to read", Exit.USAGE) from None


_COMMON = [
    inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
    inspect.Parameter(
        "data",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None, typer.Option("--data", "-d", help="Base JSON body, @file.json or -.")
        ],
    ),
    inspect.Parameter(
        "user_id",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None, typer.Option("--user-id", help="End user (default CME_USER_ID).")
        ],
    ),
    inspect.Parameter(
        "as_json",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")],
    ),
]


def _command(spec: ActionSpec) -> Callable[..., None]:
    fields = {f.attr: f for f in spec.request}
    usage = f"cme {spec.action_class.lower()} {kebab(spec.action_name)} --help"

    def command(ctx: typer.Context, **kwargs: Any) -> None:
        from ._app import run_call

        as_json = kwargs.pop("as_json")
        user_id = kwargs.pop("user_id")
        body = read_data(kwargs.pop("data"))
        for attr, raw in kwargs.items():
            if raw is not None:
                body[fields[attr].wire] = _value(fields[attr], raw)
        missing = [f"--{kebab(f.wire)}" for f in spec.request if f.required and f.wire not in body]
        if missing:
            raise CliError(f"{spec.key} needs {', '.join(missing)} ({usage})")
        settings = settings_of(ctx, user_id=user_id)
        settings.require("secret_id", "secret_key", "platform", "user_id")
        data = run_call(ctx, settings, spec.action_class, spec.action_name, body)
        show_data(data, as_json=as_json, action=spec.key)

    parameters = [*_COMMON, *(_parameter(f) for f in spec.request)]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = kebab(spec.action_name).replace("-", "_")
    return command


def _help(spec: ActionSpec) -> tuple[str, str]:
    text = " ".join(spec.description.split()) or spec.key
    safety = "replay-safe" if spec.replay_safe else "NOT replay-safe: never retried blindly"
    return f"{text}\n\n{spec.key} ({safety}).", text[:80]


def add_action_commands(app: typer.Typer) -> None:
    """One group per action class (``cme material``), one command per action."""
    groups: dict[str, typer.Typer] = {}
    for spec in catalogue().actions.values():
        name = spec.action_class.lower()
        group = groups.get(name)
        if group is None:
            group = groups[name] = typer.Typer(
                name=name,
                help=f"{spec.action_class} actions, one command each (from the catalogue).",
                no_args_is_help=True,
                rich_markup_mode=None,
            )
            app.add_typer(group)
        long_help, short = _help(spec)
        group.command(kebab(spec.action_name), help=long_help, short_help=short)(_command(spec))
