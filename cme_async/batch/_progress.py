"""Progress display: a rich bar on a terminal, a status line off one, or a callback."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from ._summary import BatchCounts

#: ``progress=`` accepts None (automatic), True, False, or a callable given the counts.
ProgressArg = bool | Callable[[BatchCounts], Any] | None

#: Seconds between status lines off a terminal.
LINE_INTERVAL = 5.0


class Reporter(Protocol):
    """``update`` after each result, ``close`` at the end. A reporter with a ``tick``
    method also gets a snapshot every second or so, results or not (a status line every
    5 s must not stop while every call in flight waits on a slow service)."""

    def update(self, counts: BatchCounts) -> None: ...

    def close(self, counts: BatchCounts) -> None: ...


class _Silent:
    def update(self, counts: BatchCounts) -> None:
        pass

    def close(self, counts: BatchCounts) -> None:
        pass


class _Callback:
    def __init__(self, callback: Callable[[BatchCounts], Any]) -> None:
        self._callback = callback

    def update(self, counts: BatchCounts) -> None:
        self._callback(counts)

    def close(self, counts: BatchCounts) -> None:
        self._callback(counts)


def status_line(c: BatchCounts) -> str:
    total = f"/{c.total}" if c.total is not None else ""
    pct = f" ({100 * c.done / c.total:.0f}%)" if c.total else ""
    eta = f", ETA {c.eta:.0f}s" if c.eta is not None else ""
    rate = f"{c.rate:.0f}" if c.rate >= 10 or c.rate == 0 else f"{c.rate:.2g}"
    return (
        f"cme batch: {c.done}{total} done{pct}, {rate}/s, {c.errors} errors "
        f"({c.failed} failed, {c.unknown} unknown, {c.invalid} invalid), "
        f"{c.in_flight} in flight{eta}"
    )


class _Lines:
    """One status line to a stream every ``interval`` seconds, and one at the end."""

    def __init__(self, stream: TextIO, interval: float = LINE_INTERVAL) -> None:
        self._stream = stream
        self._interval = interval
        self._next = time.monotonic() + interval

    def update(self, counts: BatchCounts) -> None:
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self._interval
            self._write(counts)

    def close(self, counts: BatchCounts) -> None:
        self._write(counts)

    tick = update

    def _write(self, counts: BatchCounts) -> None:
        try:
            self._stream.write(status_line(counts) + "\n")
            self._stream.flush()
        except (OSError, ValueError):  # a closed pipe must not stop the batch
            pass


class _Rich:
    """A rich progress bar: done/total, rate, errors so far, ETA."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("cme batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>6.0f}/s"),
            TextColumn("[red]{task.fields[errors]} errors"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task = self._progress.add_task("batch", total=None, rate=0.0, errors=0)
        self._progress.start()

    def update(self, counts: BatchCounts) -> None:
        self._progress.update(
            self._task,
            completed=counts.done,
            total=counts.total,
            rate=counts.rate,
            errors=counts.errors,
        )

    def close(self, counts: BatchCounts) -> None:
        self.update(counts)
        self._progress.stop()


def reporter(progress: ProgressArg, stream: TextIO | None = None) -> Reporter:
    """The reporter for a ``progress=`` argument (None/True: bar on a terminal, lines off one)."""
    if progress is False:
        return _Silent()
    if callable(progress):
        return _Callback(progress)
    out = stream if stream is not None else sys.stderr
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        try:
            return _Rich(out)
        except ImportError:  # rich comes with the `cli` extra
            pass
    return _Lines(out, LINE_INTERVAL)
