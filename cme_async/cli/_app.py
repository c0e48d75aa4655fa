"""The ``cme`` commands (typer). Generated per-action commands live in ``_actions.py``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Annotated, Any

import typer

from ._common import (
    Globals,
    check_options,
    make_client,
    parse_action,
    print_json,
    read_data,
    settings_of,
    show_data,
)
from ._errors import CliError, Exit

Json = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
UserId = Annotated[
    str | None, typer.Option("--user-id", help="End user to act for (default CME_USER_ID).")
]


def _root(
    ctx: typer.Context,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile of the config file (CME_PROFILE).")
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", help="Config file (CME_CONFIG_FILE, ~/.config/cme/config.toml)."),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Log requests and show tracebacks (secrets masked).")
    ] = False,
    api_url: Annotated[str | None, typer.Option("--api-url", help="CME_API_URL.")] = None,
    login_url: Annotated[str | None, typer.Option("--login-url", help="CME_LOGIN_URL.")] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="CME_PLATFORM.")] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow http:// endpoints other than localhost.")
    ] = False,
) -> None:
    ctx.obj = Globals(profile, config, debug, api_url, login_url, platform, insecure)
    if debug:
        import logging

        from .._logging import RedactingFilter

        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(RedactingFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger = logging.getLogger("cme_async")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)


def sign(
    ctx: typer.Context,
    user_id: UserId = None,
    expire: Annotated[int, typer.Option("--expire", help="Seconds the signature is valid.")] = 300,
    action: Annotated[
        str, typer.Option("--action", help="Login, OpenProject (needs --project-id) or Upload.")
    ] = "Login",
    project_id: Annotated[str | None, typer.Option("--project-id")] = None,
    as_json: Json = False,
) -> None:
    """Print a client access signature (Login by default) for a backend to hand out."""
    from .. import sign as make_signature

    check_options(expire=expire)

    settings = settings_of(ctx, user_id=user_id)
    settings.require("secret_id", "secret_key", "platform", "user_id")
    assert settings.secret_id and settings.secret_key and settings.platform and settings.user_id
    if action not in ("Login", "OpenProject", "Upload"):
        raise CliError(f"--action must be Login, OpenProject or Upload, got {action!r}")
    try:
        signature = make_signature(
            secret_id=settings.secret_id,
            secret_key=settings.secret_key,
            platform=settings.platform,
            user_id=settings.user_id,
            action=action,  # type: ignore[arg-type]
            expire_seconds=expire,
            project_id=project_id,
        )
    except (TypeError, ValueError) as exc:
        raise CliError(str(exc), Exit.USAGE) from None
    if as_json:
        print_json(
            {
                "signature": signature,
                "action": action,
                "user_id": settings.user_id,
                "platform": settings.platform,
                "expire_seconds": expire,
            }
        )
    else:
        print(signature)


async def _login(client: Any) -> Any:
    return await client.login()


def login(ctx: typer.Context, user_id: UserId = None, as_json: Json = False) -> None:
    """Check the key: log in and print AppId, Platform and TfUid (never the ticket)."""
    settings = settings_of(ctx, user_id=user_id)
    settings.require("secret_id", "secret_key", "platform", "user_id")

    async def go() -> Any:
        async with make_client(ctx, settings, settings.user_id) as client:
            return await _login(client)

    ticket = asyncio.run(go())
    info = {
        "app_id": ticket.app_id,
        "platform": ticket.platform or settings.platform,
        "tf_uid": ticket.tf_uid,
        "user_id": ticket.user_id,
    }
    if as_json:
        print_json(info)
    else:
        print(
            f"Login OK for {info['user_id']}: AppId {info['app_id']}, "
            f"Platform {info['platform']}, TfUid {info['tf_uid']}"
        )


def actions(
    action_class: Annotated[
        str | None, typer.Argument(metavar="[CLASS]", help="Material, Project, Task or Team.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List every action with its replay safety and a one-line description."""
    from .._catalogue import catalogue

    specs = list(catalogue().actions.values())
    if action_class is not None:
        specs = [s for s in specs if s.action_class.lower() == action_class.lower()]
        if not specs:
            known = sorted({s.action_class for s in catalogue().actions.values()})
            raise CliError(f"no action class {action_class!r} (known: {', '.join(known)})")
    rows: list[dict[str, Any]] = [
        {
            "action": s.key,
            "replay_safe": s.replay_safe,
            "paged": s.paging != "none",
            "description": _first_line(s.description),
        }
        for s in specs
    ]
    if as_json:
        print_json(rows)
        return
    width = max((len(r["action"]) for r in rows), default=10)
    for r in rows:
        safety = "replay-safe" if r["replay_safe"] else "NOT replay-safe"
        print(f"{r['action']:<{width}}  {safety:<15}  {r['description']}")


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def call(
    ctx: typer.Context,
    action: Annotated[str, typer.Argument(help="Class/Name, e.g. Material/DeleteMaterial.")],
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="JSON body, @file.json, or - for stdin."),
    ] = None,
    user_id: UserId = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per attempt.")] = None,
    deadline: Annotated[float | None, typer.Option(help="Seconds for the whole call.")] = None,
    max_retries: Annotated[int | None, typer.Option(help="Replays after a failure.")] = None,
    as_json: Json = False,
) -> None:
    """Call one action with a JSON body and print the answer's Data as JSON."""
    check_options(timeout=timeout, deadline=deadline, max_retries=max_retries)
    action_class, action_name = parse_action(action)
    body = read_data(data)
    settings = settings_of(ctx, user_id=user_id)
    settings.require("secret_id", "secret_key", "platform", "user_id")
    result = run_call(
        ctx, settings, action_class, action_name, body, timeout, deadline, max_retries
    )
    show_data(result, as_json=as_json, action=f"{action_class}/{action_name}")


def run_call(
    ctx: typer.Context,
    settings: Any,
    action_class: str,
    action_name: str,
    body: dict[str, Any],
    timeout: float | None = None,
    deadline: float | None = None,
    max_retries: int | None = None,
) -> Any:
    async def go() -> Any:
        async with make_client(ctx, settings, settings.user_id) as client:
            return await client.call(
                action_class,
                action_name,
                body,
                timeout=timeout,
                deadline=deadline,
                max_retries=max_retries,
            )

    return asyncio.run(go())


def emulator(
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    seed: Annotated[bool, typer.Option("--seed", help="Load the demo library.")] = False,
    as_json: Json = False,
) -> None:
    """Run the embedded CME emulator in the foreground; print the CME_* variables to export."""
    from ..testing import (
        DEMO_PLATFORM,
        DEMO_SECRET_ID,
        DEMO_SECRET_KEY,
        DEMO_USER_ID,
        FakeCme,
    )

    async def serve() -> None:
        fake = FakeCme.seeded() if seed else FakeCme()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        async with fake.serve(host, port) as url:
            variables = {
                "CME_SECRET_ID": DEMO_SECRET_ID,
                "CME_SECRET_KEY": DEMO_SECRET_KEY,  # the emulator's public demo key
                "CME_PLATFORM": DEMO_PLATFORM,
                "CME_USER_ID": DEMO_USER_ID,
                "CME_API_URL": url,
                "CME_LOGIN_URL": url,
            }
            if as_json:
                print_json({"url": url, "seeded": seed, "env": variables})
            else:
                print(f"CME emulator on {url}" + (" (demo library loaded)" if seed else ""))
                print("Export these (demo credentials, valid only for this emulator):")
                for name, value in variables.items():
                    print(f"export {name}={value}")
                print("Ctrl-C stops it.")
            sys.stdout.flush()
            await stop.wait()
        if not as_json:
            print(f"CME emulator stopped ({fake.logins} logins, {sum(fake.calls.values())} calls)")

    asyncio.run(serve())


def build_app() -> typer.Typer:
    """A fresh ``cme`` app: the hand-written commands, then the generated ones."""
    from ._actions import add_action_commands
    from ._batch import batch, worker

    app = typer.Typer(
        name="cme",
        help="Tencent Cloud CME (云剪) client API from the command line (docs/cli.md).",
        epilog=(
            "Exit status: 0 ok, 1 internal error, 2 usage/bad input, 3 configuration, "
            "4 key refused, 5 CME error code, 6 network/timeout, 7 batch items failed, "
            "130/143 interrupted."
        ),
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    for command in (sign, login, actions, call, batch, worker, emulator):
        app.command()(command)
    add_action_commands(app)
    return app
