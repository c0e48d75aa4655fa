"""``cme batch`` (here or over Redis workers) and ``cme worker``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ._app import Json, UserId, _login
from ._common import check_options, drop_stdout, make_client, print_json, settings_of
from ._errors import CliError, Exit


def batch(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSONL file: one item per line.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Results JSONL; also the checkpoint for --resume.")
    ],
    concurrency: Annotated[
        int | None,
        typer.Option(help="Calls in flight at once [32; with --redis, jobs queued: 256]."),
    ] = None,
    rate: Annotated[float | None, typer.Option(help="Calls per second over all actions.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run whose results are in --out.")
    ] = False,
    retry_unknown: Annotated[
        bool,
        typer.Option("--retry-unknown", help="Send items whose outcome is unknown again."),
    ] = False,
    deadline: Annotated[float, typer.Option(help="Seconds per call, retries included.")] = 60.0,
    max_retries: Annotated[int | None, typer.Option(help="Replays per call.")] = None,
    grace: Annotated[
        float, typer.Option(help="Seconds to wait for calls in flight after Ctrl-C/SIGTERM.")
    ] = 30.0,
    redis: Annotated[
        str | None,
        typer.Option("--redis", help="Spread the items over `cme worker` processes (arq)."),
    ] = None,
    queue: Annotated[str | None, typer.Option(help="arq queue name (with --redis).")] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar or status lines.")
    ] = True,
    max_line_mb: Annotated[
        int, typer.Option(help="Longest input line taken, in MiB; longer ones are invalid.")
    ] = 16,
    user_id: UserId = None,
    as_json: Json = False,
) -> None:
    """Run a JSONL file of calls: results to --out, progress and summary to stderr.

    Each line: {"id": "42", "action": "Material/DeleteMaterial", "body": {...},
    "user_id": "alice"} (user_id optional). Exit status 0 when every item succeeded,
    7 when some failed (the results file is complete either way).
    """
    from .. import batch as batch_mod

    check_options(
        concurrency=concurrency,
        rate=rate,
        deadline=deadline,
        max_retries=max_retries,
        grace=grace,
        max_line_mb=max_line_mb,
    )
    max_line = max_line_mb * 1024 * 1024
    _check_paths(file, out, resume)
    settings = settings_of(ctx, user_id=user_id, redis=redis)
    if settings.redis and rate is not None:
        raise CliError(
            "--rate limits the workers' calls: start them with `cme worker --rate R` "
            "(one limit shared through Redis), not cme batch --redis"
        )
    in_flight = concurrency or (256 if settings.redis else 32)
    total = batch_mod.count_lines(file)
    show = None if progress else False

    async def local() -> Any:
        options: dict[str, Any] = {}
        if rate is not None:
            options["rate_limit"] = rate
        if in_flight > 100:
            options["max_concurrency"] = in_flight
        async with make_client(ctx, settings, settings.user_id, **options) as client:
            if settings.user_id:
                await _login(client)  # a refused key fails here, not on every item
            run = batch_mod.run(
                client,
                batch_mod.read_jsonl(file, max_line_bytes=max_line),
                concurrency=in_flight,
                checkpoint=out,
                retry_unknown=retry_unknown,
                progress=show,
                total=total,
                deadline=deadline,
                max_retries=max_retries,
                grace=grace,
            )
            async for _ in run:
                pass
            return run

    async def distributed() -> Any:
        from .. import distributed as dist

        assert settings.redis is not None
        run = dist.run(
            settings.redis,
            batch_mod.read_jsonl(file, max_line_bytes=max_line),
            concurrency=in_flight,
            checkpoint=out,
            retry_unknown=retry_unknown,
            progress=show,
            total=total,
            deadline=deadline,
            grace=grace,
            queue_name=queue,
        )
        async for _ in run:
            pass
        return run

    try:
        run = asyncio.run(distributed() if settings.redis else local())
    except (batch_mod.CheckpointInUse, batch_mod.NotACheckpoint) as exc:
        raise CliError(f"--out {exc}") from None
    except OSError as exc:  # the results file (or the input) failed under us
        where = exc.filename if exc.filename is not None else out
        raise CliError(
            f"cannot go on: {where}: {exc.strerror or exc}; every result written before it "
            f"is kept in {out}: fix this, then rerun with --resume"
        ) from None
    summary = run.summary
    # Nobody reading (`| head`) must not change the exit status: the batch decides it.
    try:
        print(summary.render(), file=sys.stderr, flush=True)
    except OSError:
        drop_stdout(sys.stderr)
    if as_json:
        try:
            print_json(summary.to_dict())
        except OSError:
            drop_stdout()
    if run.stopped_by == signal.SIGINT:
        raise typer.Exit(Exit.INTERRUPTED)
    if run.stopped_by == signal.SIGTERM:
        raise typer.Exit(Exit.TERMINATED)
    raise typer.Exit(Exit.OK if summary.all_ok else Exit.BATCH_ITEMS_FAILED)


def _check_paths(file: Path, out: Path, resume: bool) -> None:
    """Refuse, before anything is sent, an input or --out that would lose work."""
    if str(file) == "-":
        raise CliError(
            "cme batch reads a file, not stdin (a resume reads it again): save the items "
            "to a file and pass its path"
        )
    if file.exists() and not file.is_file():
        raise CliError(
            f"{file} is not a regular file (a directory, or a pipe such as <(...), which a "
            "resume cannot read again): save the items to a file and pass its path"
        )
    if not file.is_file():
        raise CliError(f"cannot read {file}: no such file")
    if out.is_dir():
        raise CliError(f"--out {out} is a directory: give a file path such as {out}/results.jsonl")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise CliError(f"--out {out}: directory {parent} does not exist (create it first)")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise CliError(f"--out {out} is not writable: choose a file in a directory you can write")
    if out.exists() and out.samefile(file):
        raise CliError(
            f"--out {out} is the input file itself: results would overwrite the items; "
            "choose another --out"
        )
    if out.exists() and out.stat().st_size > 0 and not resume:
        raise CliError(
            f"{out} already holds results: pass --resume to continue that run, "
            "or choose another --out"
        )


def worker(
    ctx: typer.Context,
    redis: Annotated[
        str | None, typer.Option("--redis", help="redis://HOST:6379/0 (CME_REDIS_URL).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Jobs this worker runs at once.")] = 32,
    rate: Annotated[
        float | None,
        typer.Option(help="Calls per second shared by every worker (RedisRateLimiter)."),
    ] = None,
    deadline: Annotated[
        float, typer.Option(help="Seconds per call; arq's job timeout is this + 2 s.")
    ] = 60.0,
    queue: Annotated[str | None, typer.Option(help="arq queue name.")] = None,
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit when the queue is empty (for tests and cron).")
    ] = False,
    as_json: Json = False,
) -> None:
    """Run an arq worker taking `cme batch --redis` jobs (extra cme-async[distributed])."""
    from .. import distributed as dist

    check_options(concurrency=concurrency, rate=rate, deadline=deadline)

    settings = settings_of(ctx, redis=redis)
    if not settings.redis:
        raise CliError("--redis is required (or CME_REDIS_URL, or redis in a profile)")
    settings.require("secret_id", "secret_key", "platform")
    # The worker's client reads CME_* (AsyncCmeClient.from_env): put what profiles and
    # flags chose into this process's own environment, not into arq's job context.
    for key, variable in (
        ("secret_id", "CME_SECRET_ID"),
        ("secret_key", "CME_SECRET_KEY"),
        ("platform", "CME_PLATFORM"),
        ("user_id", "CME_USER_ID"),
        ("api_url", "CME_API_URL"),
        ("login_url", "CME_LOGIN_URL"),
    ):
        value = getattr(settings, key)
        if value:
            os.environ[variable] = value
    from .._redis_base import mask_url

    where = {
        "redis": mask_url(settings.redis),
        "queue": queue or dist.DEFAULT_QUEUE,
        "concurrency": concurrency,
        "rate": rate,
        "deadline": deadline,
    }
    if as_json:
        print_json({"event": "started", **where})
    else:
        print(
            f"cme worker: taking jobs from {where['redis']} (queue {where['queue']}, "
            f"{concurrency} calls at once{f', {rate:g} calls/s shared' if rate else ''}); "
            "Ctrl-C or SIGTERM stops it",
            file=sys.stderr,
            flush=True,
        )
    dist.run_worker(
        settings.redis,
        concurrency=concurrency,
        rate=rate,
        deadline=deadline,
        queue_name=queue,
        burst=burst,
    )
    if as_json:
        print_json({"event": "stopped"})
    else:
        print("cme worker: stopped", file=sys.stderr, flush=True)
