"""``python -m cme_async.testing``: run the emulator as a real HTTP server.

    python -m cme_async.testing --port 8765 --seed          # serve until Ctrl-C
    python -m cme_async.testing --seed --run python app.py  # serve on a free port, run a
                                                            # command with CME_* set, stop

Prints the URLs and the credentials (as ``CME_*`` variables) that clients in any
language use to sign a Login signature and call the API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from ._fake import FakeCme
from .world.seed import DEMO_PLATFORM, DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_USER_ID


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cme_async.testing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (8765)")
    p.add_argument("--seed", action="store_true", help="load the demo library (user demo_user)")
    p.add_argument("--seed-file", help="load records from this JSON seed file")
    p.add_argument("--secret-id", default=DEMO_SECRET_ID)
    p.add_argument("--secret-key", default=DEMO_SECRET_KEY)
    p.add_argument("--platform", default=DEMO_PLATFORM)
    p.add_argument("--user-id", default=DEMO_USER_ID, help="CME_USER_ID to advertise")
    p.add_argument(
        "--task-duration",
        type=float,
        default=1.0,
        help="seconds a ProcessMaterial task takes (1.0)",
    )
    p.add_argument(
        "--credentials",
        action="append",
        default=[],
        metavar="SECRET_ID:SECRET_KEY:PLATFORM",
        help="accept Login signatures of another key/platform too (repeatable; a tenant each)",
    )
    p.add_argument("--ticket-ttl", type=float, help="seconds a ticket stays valid (no limit)")
    p.add_argument("--login-latency", type=float, default=0.0, help="delay every login (0)")
    p.add_argument(
        "--request-log",
        type=int,
        default=None,
        metavar="N",
        help="requests kept in the log read by GET /_emulator/requests (1000)",
    )
    p.add_argument(
        "--run",
        nargs=argparse.REMAINDER,
        help="serve on --port (0 by default here), run this command with CME_* set, "
        "stop the server and exit with the command's status",
    )
    return p


def _env(url: str, args: argparse.Namespace) -> dict[str, str]:
    return {
        "CME_SECRET_ID": args.secret_id,
        "CME_SECRET_KEY": args.secret_key,
        "CME_PLATFORM": args.platform,
        "CME_USER_ID": args.user_id,
        "CME_API_URL": url,
        "CME_LOGIN_URL": url,
        "CME_EMULATOR_URL": url,
    }


def _banner(url: str, args: argparse.Namespace) -> str:
    lines = [
        f"CME emulator listening on {url}" + (" (demo library loaded)" if args.seed else ""),
        f"  login:    GET  {url}/?signature=<Login signature>",
        f"  actions:  POST {url}/PaaS/<Class>/<Name>?auth=<Authorization>",
        f"  controls: POST {url}/_emulator/{{expire-tickets,expire-randomly,fail-next,latency,"
        "fail-randomly,rate-limit,add-credentials,request-log,reset}}, "
        f"GET {url}/_emulator/{{counters,requests}}",
        "Sign Login signatures with these (shell syntax):",
    ]
    lines += [f"  export {k}={v}" for k, v in _env(url, args).items()]
    for text in args.credentials:
        secret_id, _, platform = _triple(text)
        lines.append(f"  (also accepted: SecretId {secret_id} for platform {platform})")
    return "\n".join(lines)


def _triple(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"--credentials wants SECRET_ID:SECRET_KEY:PLATFORM, got {text!r}")
    return parts[0], parts[1], parts[2]


def _fake(args: argparse.Namespace) -> FakeCme:
    options: dict[str, Any] = {
        "secret_id": args.secret_id,
        "secret_key": args.secret_key,
        "platform": args.platform,
        "task_duration": args.task_duration,
        "ticket_ttl": args.ticket_ttl,
    }
    if args.request_log is not None:
        options["request_log_size"] = args.request_log
    fake = FakeCme.seeded(**options) if args.seed else FakeCme(**options)
    if args.seed_file:
        fake.load_seed(args.seed_file)
    for text in args.credentials:
        fake.add_credentials(*_triple(text))
    if args.login_latency:
        fake.login_latency(args.login_latency)
    return fake


async def _run(args: argparse.Namespace, command: Sequence[str]) -> int:
    fake = _fake(args)
    async with fake.serve(args.host, args.port) as url:
        print(f"[emulator] listening on {url}; running: {' '.join(command)}", flush=True)
        proc = await asyncio.create_subprocess_exec(*command, env={**os.environ, **_env(url, args)})
        code = await proc.wait()
    print(
        f"[emulator] stopped ({fake.logins} logins, {sum(fake.calls.values())} calls); "
        f"command exited with {code}",
        flush=True,
    )
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        for text in args.credentials:
            _triple(text)
    except ValueError as exc:
        _parser().error(str(exc))
    if args.run is not None:
        command = [c for c in args.run if c != "--"] if args.run[:1] == ["--"] else args.run
        if not command:
            _parser().error("--run needs a command")
        if "--port" not in (argv if argv is not None else sys.argv):
            args.port = 0
        return asyncio.run(_run(args, command))
    from ._server import bind, run_forever, url_of

    fake = _fake(args)
    sock = bind(args.host, args.port)
    print(_banner(url_of(sock), args), flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(fake.app, sock)
    print("CME emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
