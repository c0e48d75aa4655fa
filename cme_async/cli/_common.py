"""What every ``cme`` command shares: settings from the context, the client, output."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import attrs
import typer

from ._config import Settings, load_settings
from ._errors import CliError, Exit


@attrs.define
class Globals:
    """Options given before the command: ``cme --profile prod --debug call ...``."""

    profile: str | None = None
    config: str | None = None
    debug: bool = False
    api_url: str | None = None
    login_url: str | None = None
    platform: str | None = None
    insecure: bool = False


def globals_of(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Globals) else Globals()


def settings_of(ctx: typer.Context, **flags: str | None) -> Settings:
    g = globals_of(ctx)
    merged = {"api_url": g.api_url, "login_url": g.login_url, "platform": g.platform}
    merged.update({k: v for k, v in flags.items() if v is not None})
    return load_settings(profile=g.profile, config_path=g.config, flags=merged)


def make_client(ctx: typer.Context, settings: Settings, user_id: str | None, **options: Any) -> Any:
    """An ``AsyncCmeClient`` for these settings (its errors become one-line config errors)."""
    from .. import AsyncCmeClient, LocalSigner
    from ..batch import count_attempts

    settings.require("secret_id", "secret_key", "platform")
    assert settings.secret_id and settings.secret_key and settings.platform
    endpoints: dict[str, Any] = {}
    if settings.api_url:
        endpoints["api_url"] = settings.api_url
    if settings.login_url:
        endpoints["login_url"] = settings.login_url
    if globals_of(ctx).insecure:
        options["allow_insecure"] = True
    try:
        signer = LocalSigner(settings.secret_id, settings.secret_key, settings.platform)
        return AsyncCmeClient(signer, user_id, on_retry=count_attempts, **endpoints, **options)
    except (TypeError, ValueError) as exc:
        raise CliError(str(exc), Exit.CONFIG) from None


def print_json(value: Any, *, pretty: bool = False) -> None:
    from ..batch._results import LINE_BREAKS, utf8_safe

    # U+2028 and friends escaped: `--json` output is one line for every line reader;
    # a lone surrogate (valid JSON "\ud800", not valid UTF-8) as a \u escape.
    indent = 2 if pretty else None
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    if not utf8_safe(text):
        text = json.dumps(value, ensure_ascii=True, indent=indent)
    text = text.translate(LINE_BREAKS)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def check_options(**values: float | None) -> None:
    """Numeric options, checked before anything is sent (``--deadline``, ``--grace``...):
    a bad one is a usage error naming the flag, not an 'internal error' nor a failure of
    every item of a batch."""
    for name, value in values.items():
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        finite = value == value and abs(value) != float("inf")
        if name in ("max_retries", "grace") and not (finite and value >= 0):
            raise CliError(f"{flag} must be 0 or more, got {value}", Exit.USAGE)
        if name not in ("max_retries", "grace") and not (finite and value > 0):
            raise CliError(f"{flag} must be a positive number, got {value}", Exit.USAGE)


def drop_stdout(stream: Any = None) -> None:
    """After a BrokenPipeError: point stdout (or ``stream``) at /dev/null, so that what
    is still buffered goes there at exit instead of failing (and changing the exit
    status)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, (sys.stdout if stream is None else stream).fileno())
    except (OSError, ValueError):  # not a real file (a test's StringIO): nothing to do
        pass
    finally:
        os.close(devnull)


def flush_quietly() -> None:
    """Flush stdout and stderr now; a reader that has gone away (``| head``) must not
    turn the exit status into the interpreter's own at shutdown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            drop_stdout(stream)


def parse_action(text: str) -> tuple[str, str]:
    """``Material/DeleteMaterial`` (or ``Material.DeleteMaterial``), checked in the catalogue."""
    from .._catalogue import action_spec

    parts = text.replace(".", "/").split("/")
    if len(parts) != 2 or not all(parts):
        raise CliError(f"action must look like Material/DeleteMaterial, got {text!r}", Exit.USAGE)
    if action_spec(parts[0], parts[1]) is None:
        raise CliError(f"unknown action {text!r}: `cme actions` lists every action", Exit.USAGE)
    return parts[0], parts[1]


def read_data(value: str | None) -> dict[str, Any]:
    """``--data``: inline JSON, ``@file.json`` or ``-`` (stdin); must be a JSON object."""
    if value is None:
        return {}
    source = "--data"
    raw: bytes | None = None
    text = value
    if value == "-":
        raw, source = sys.stdin.buffer.read(), "--data - (stdin)"
    elif value.startswith("@"):
        try:
            with open(value[1:], "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise CliError(f"cannot read {value[1:]}: {exc.strerror}", Exit.USAGE) from None
        source = f"--data {value}"
    if raw is not None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CliError(
                f"{source} is not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}): "
                "save it as UTF-8",
                Exit.USAGE,
            ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            Exit.USAGE,
        ) from None
    except RecursionError:
        raise CliError(f"{source} is nested too deeply to read", Exit.USAGE) from None
    if not isinstance(data, dict):
        raise CliError(
            f'{source} must be a JSON object like {{"MaterialId": "..."}}, '
            f"got {type(data).__name__}",
            Exit.USAGE,
        )
    return data


def show_data(data: Any, *, as_json: bool, action: str) -> None:
    if as_json:
        print_json(data)
    elif data is None:
        print(f"{action}: OK (no data)")
    else:
        print_json(data, pretty=True)
