"""Batch jobs: many calls with bounded concurrency, per-item results, resume and progress.

    from cme_async import batch

    items = batch.read_jsonl("calls.jsonl")          # or any (async) iterable of mappings
    run = batch.run(client, items, concurrency=64, checkpoint="results.jsonl")
    async for result in run:                          # one BatchResult per item
        if not result.ok:
            print(result.id, result.error.code)
    print(run.summary.render())

    summary = await batch.run_batch(client, items, checkpoint="results.jsonl")

An item is a mapping ``{"id": "42", "action": "Material/DeleteMaterial",
"body": {...}, "user_id": "alice"}`` or a ``BatchItem``. One item's failure never
stops the batch. See docs/batch.md.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, Any

from ._checkpoint import CheckpointInUse, NotACheckpoint
from ._checkpoint import compact as compact_checkpoint
from ._items import BatchItem, SourceLine, count_lines, parse_item, read_jsonl
from ._local import Executor, LocalExecutor, count_attempts
from ._progress import ProgressArg, status_line
from ._results import BatchResult, ItemError, Outcome
from ._runner import BatchRun
from ._summary import ActionTiming, BatchCounts, BatchSummary

if TYPE_CHECKING:
    from .._client import AsyncCmeClient

__all__ = [
    "ActionTiming",
    "BatchCounts",
    "BatchItem",
    "BatchResult",
    "BatchRun",
    "BatchSummary",
    "CheckpointInUse",
    "Executor",
    "ItemError",
    "LocalExecutor",
    "NotACheckpoint",
    "Outcome",
    "SourceLine",
    "compact_checkpoint",
    "count_attempts",
    "count_lines",
    "parse_item",
    "read_jsonl",
    "run",
    "run_batch",
    "status_line",
]


def run(
    client: AsyncCmeClient,
    items: Iterable[Any] | AsyncIterable[Any],
    *,
    concurrency: int = 32,
    checkpoint: str | os.PathLike[str] | None = None,
    retry_unknown: bool = False,
    progress: ProgressArg = None,
    total: int | None = None,
    deadline: float | None = None,
    max_retries: int | None = None,
    stop_signals: bool = True,
    grace: float = 30.0,
    check_duplicates: bool = True,
    durable: bool = False,
) -> BatchRun:
    """Run ``items`` through ``client``; iterate the returned ``BatchRun`` for results.

    Args:
        client: an open ``AsyncCmeClient`` (items with ``user_id`` use ``client.as_user``).
        items: mappings, ``BatchItem``s or ``read_jsonl`` lines, from any iterable or
            async iterable; pulled only as slots free up.
        concurrency: items in flight at once (memory follows this, not the batch size).
        checkpoint: a JSONL file every result is appended to (and flushed). If it
            exists, items it has as ok are skipped, and items whose outcome is unknown
            are not sent again unless ``retry_unknown``.
        progress: None (a bar on a terminal, a status line to stderr every 5 s off one),
            False, or a callable receiving ``BatchCounts`` after each result.
        total: the number of items, for progress (taken from ``len(items)`` if it has one).
        deadline / max_retries: per call, passed to ``client.call``.
        stop_signals: on SIGINT/SIGTERM stop taking items, wait ``grace`` seconds for
            those in flight, write their results and end (a second signal cancels them).
        check_duplicates: report a repeated id as invalid (keeps ~60 bytes per id).
        durable: fsync each write-ahead line (survives power loss, not only a crash).

    Raises (from the iteration, before anything is sent): ``CheckpointInUse`` if another
    run holds the checkpoint, ``NotACheckpoint`` if the file holds lines no run wrote,
    ``OSError`` if it cannot be opened; later, the ``OSError`` of a checkpoint write that
    failed (the run stops taking items first). ``ValueError`` at once for bad options.
    """
    executor = LocalExecutor(client, deadline=deadline, max_retries=max_retries)
    return BatchRun(
        executor,
        items,
        concurrency=concurrency,
        checkpoint=checkpoint,
        retry_unknown=retry_unknown,
        progress=progress,
        total=total,
        stop_signals=stop_signals,
        grace=grace,
        check_duplicates=check_duplicates,
        durable=durable,
    )


async def run_batch(
    client: AsyncCmeClient,
    items: Iterable[Any] | AsyncIterable[Any],
    **options: Any,
) -> BatchSummary:
    """``run(...)`` to the end, results only in the checkpoint; returns the summary."""
    batch_run = run(client, items, **options)
    async for _ in batch_run:
        pass
    assert batch_run.summary is not None
    return batch_run.summary
