"""``cme``: the command line of cme-async (extra ``cme-async[cli]``). See docs/cli.md.

``main()`` runs it and returns the exit status; every error is one line on stderr
(``cme: ...``) with a documented status (``cme_async.cli.Exit``), and no secret is ever
printed, with or without ``--debug``.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Sequence

from ._errors import CliError, Exit, classify

__all__ = ["CliError", "Exit", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cme`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    status = _main(argv)
    from ._common import flush_quietly

    flush_quietly()
    return status


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        import typer
    except ImportError:  # pragma: no cover - the `cli` extra is missing
        _say("the cme command needs the cli extra: pip install 'cme-async[cli]'")
        return Exit.CONFIG
    try:
        from ._app import build_app

        command = typer.main.get_command(build_app())
        # Without standalone mode the parser returns a typer.Exit's status instead.
        status = command.main(args=args, prog_name="cme", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except BrokenPipeError:  # `cme actions | head`: the reader left; nothing to report
        from ._common import drop_stdout

        drop_stdout()
        return Exit.OK
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted")
        return Exit.INTERRUPTED
    except typer.TyperException as exc:
        # Usage errors of the command-line parser (unknown option, missing argument...).
        if type(exc).__name__ == "NoArgsIsHelpError":  # `cme` or `cme material` alone
            print(exc.format_message() if hasattr(exc, "format_message") else exc)
            return Exit.OK
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _say(f"{message}{hint}")
        return Exit.USAGE
    except BaseException as exc:  # every error becomes one line
        if isinstance(exc, SystemExit):
            return int(exc.code) if isinstance(exc.code, int) else Exit.INTERNAL
        line, status = classify(exc)
        if debug:
            _traceback(exc)
        _say(line)
        return status
    return int(status) if isinstance(status, int) else Exit.OK


def _say(line: str) -> None:
    from .._redact import redact
    from ..batch._summary import printable

    # One line, and no control characters: a name from the input (a file, an action,
    # a server's message) must not move the cursor or recolour the terminal.
    with contextlib.suppress(OSError):  # stderr closed (`2>&1 | head`): the status tells
        print(f"cme: {printable(' '.join(redact(line).split()))}", file=sys.stderr)


def _traceback(exc: BaseException) -> None:
    from .._redact import redact

    text = "".join(traceback.format_exception(exc))
    print(redact(text), file=sys.stderr, end="")
