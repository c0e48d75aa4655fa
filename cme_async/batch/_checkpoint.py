"""The checkpoint: an append-only JSONL file of results and write-ahead lines.

* A result line is ``BatchResult.to_json()`` (it has an ``"ok"`` key).
* A write-ahead line, ``{"id": "42", "sending": "Material/CreateClass"}``, is written
  and flushed before an item whose action is not replay-safe is sent. If no result
  follows it, the process stopped while the call was in flight: the next run reports
  the item as "outcome unknown" instead of sending it again.

Every line is flushed to the operating system as it is written, so a killed process
(even SIGKILL) loses nothing it reported; ``durable=True`` also fsyncs write-ahead
lines, against power loss. What a resume keeps in memory is a set of hashes of the
finished ids (about 60 bytes per item), never the items or their answers.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import tempfile
from typing import IO, Any

from ._results import BatchResult, dumps

logger = logging.getLogger("cme_async.batch")

if sys.platform != "win32":  # Windows has no flock: one run at a time is on the user
    import fcntl


class CheckpointInUse(RuntimeError):
    """Another run holds this checkpoint: two runs on one file would send items twice."""


class CheckpointState:
    """What a previous run left: ids finished ok, unknown outcomes, calls in flight."""

    __slots__ = ("done", "in_flight", "needs_compaction", "unknown")

    def __init__(self) -> None:
        self.done: set[int] = set()  # hash(id) of items whose last result is ok
        self.unknown: dict[str, BatchResult] = {}  # last result was "unknown"
        self.in_flight: dict[str, str] = {}  # id -> action: write-ahead, no result after it
        self.needs_compaction = False

    def status(self, item_id: str) -> str | None:
        """``"done"``, ``"unknown"``, ``"in_flight"`` or None (send it)."""
        if hash(item_id) in self.done:
            return "done"
        if item_id in self.unknown:
            return "unknown"
        if item_id in self.in_flight:
            return "in_flight"
        return None


class NotACheckpoint(ValueError):
    """The file holds lines no batch run wrote: resuming would compact them away."""


#: How every line the runner writes begins (results and write-ahead lines alike).
_START = '{"id":'


def _lines(path: str | os.PathLike[str], *, check: bool = False) -> Any:
    """The result and write-ahead lines of a checkpoint, skipping lines cut short by a
    crash. With ``check``, any other line raises ``NotACheckpoint``: compaction keeps
    only the runner's lines, so resuming onto some other file would erase it."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                # A line cut short by a crash (its item simply runs again) begins as
                # every line of ours does; anything else is not ours.
                if check and not (text.startswith(_START) or _START.startswith(text.strip())):
                    raise _foreign(path, number, "not a JSON line written by a batch run") from None
                continue
            if isinstance(value, dict) and ("ok" in value or "sending" in value):
                yield value
            elif check:
                raise _foreign(path, number, "JSON, but neither a result nor a write-ahead line")


def _foreign(path: str | os.PathLike[str], number: int, what: str) -> NotACheckpoint:
    return NotACheckpoint(
        f"{os.fspath(path)} is not a batch results file (line {number}: {what}); resuming "
        "onto it would rewrite it: choose another checkpoint (--out)"
    )


def load(path: str | os.PathLike[str]) -> CheckpointState:
    """Read a checkpoint (missing file: nothing done yet)."""
    state = CheckpointState()
    if not os.path.exists(path):
        return state
    seen: set[int] = set()
    for line in _lines(path, check=True):
        raw_id = line.get("id")
        if raw_id is None:
            continue
        item_id = str(raw_id)
        key = hash(item_id)
        if key in seen:
            state.needs_compaction = True
        seen.add(key)
        if "sending" in line and "ok" not in line:
            state.needs_compaction = True
            state.in_flight[item_id] = str(line["sending"])
            state.done.discard(key)
            state.unknown.pop(item_id, None)
            continue
        result = BatchResult.from_dict(line)
        if result.outcome == "invalid":
            # Nothing was sent: an invalid line (a duplicate, or the item's line edited
            # into something wrong) says nothing about what CME did with the item, so
            # it must not hide an earlier ok or unknown (a fixed line would be resent).
            continue
        state.in_flight.pop(item_id, None)
        state.unknown.pop(item_id, None)
        state.done.discard(key)
        if result.outcome == "ok":
            state.done.add(key)
        elif result.outcome == "unknown":
            state.unknown[item_id] = result
    return state


class CheckpointWriter:
    """Appends lines to the checkpoint, each flushed as it is written.

    It holds an exclusive lock on the file from the start (before the previous run's
    lines are read) to the end (after compaction), so a second run on the same file,
    which would send the same items again, fails at once with ``CheckpointInUse``.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = False) -> None:
        self.path = path
        self.durable = durable
        self.broken = False
        self._fh: IO[str] = self._open_locked(path)
        self._fh.seek(0, os.SEEK_END)
        # A line cut short by a crash: the first write starts on a fresh line (nothing
        # is written before then, so a file refused by load() stays as it was).
        self._newline = False
        if self._fh.tell() > 0:
            with open(path, "rb") as raw:
                raw.seek(-1, os.SEEK_END)
                self._newline = raw.read(1) != b"\n"
        self.wrote_ahead = False

    @staticmethod
    def _open_locked(path: str | os.PathLike[str]) -> IO[str]:
        for _ in range(10):
            fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed in close()
            if sys.platform == "win32":
                return fh
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                raise CheckpointInUse(
                    f"{os.fspath(path)} is in use by another batch run; two runs on one "
                    "checkpoint would send the same items twice: wait for that run to end, "
                    "or choose another checkpoint"
                ) from None
            except OSError as exc:  # a file system without locks (some NFS mounts)
                logger.warning(
                    "cme batch: cannot lock %s (%s): make sure no other run uses it",
                    os.fspath(path),
                    exc.strerror or exc,
                )
                return fh
            except BaseException:
                fh.close()
                raise
            try:  # the previous holder may have compacted (replaced) the file meanwhile
                if os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino:
                    return fh
            except FileNotFoundError:
                pass
            fh.close()
        raise CheckpointInUse(f"{os.fspath(path)} keeps being replaced by another batch run")

    def _write(self, text: str) -> None:
        if self._newline:
            text = "\n" + text
        try:
            self._fh.write(text)
            self._newline = False
            self._fh.flush()
        except BaseException:
            self.broken = True
            raise

    def write_ahead(self, item_id: str, action: str) -> None:
        self._write(dumps({"id": item_id, "sending": action}) + "\n")
        if self.durable:
            os.fsync(self._fh.fileno())
        self.wrote_ahead = True

    def result(self, result: BatchResult) -> None:
        self._write(result.to_json() + "\n")

    def close(self) -> None:
        """Close the file and release the lock (after a failed write, quietly)."""
        if self._fh.closed:
            return
        try:
            self._fh.close()
        except OSError:
            if not self.broken:
                raise


def open_checkpoint(
    path: str | os.PathLike[str] | None, durable: bool
) -> tuple[CheckpointState | None, CheckpointWriter | None, bool]:
    """The previous run's state, the (locked) writer, and whether the file had lines."""
    if path is None:
        return None, None, False
    existed = os.path.exists(path) and os.path.getsize(path) > 0
    # Lock first, read second: a run that ends meanwhile has written all it will.
    writer = CheckpointWriter(path, durable=durable)
    try:
        state = load(path)
    except BaseException:
        writer.close()
        raise
    return state, writer, existed


def _key(line: dict[str, Any]) -> str:
    error = line.get("error")
    if isinstance(error, dict) and error.get("code") == "DuplicateId":
        return f"where:{line.get('where')}"
    if line.get("id") is None:
        return f"where:{line.get('where')}"
    return f"id:{line['id']}"


def compact(path: str | os.PathLike[str], *, resumed: bool = True) -> None:
    """Rewrite the file with the last result per item only (no write-ahead lines), in
    the order their final results were written. Atomic: a crash leaves the old file in place.

    A file written by one run (``resumed=False``) has one result per item already, so
    only the write-ahead lines go, streaming; after a resume, one integer per item is
    kept to find each item's last line.
    """
    # The file itself, not a symlink to it (replacing the link would leave the target
    # stale), and with its own permissions (mkstemp makes 0600 files).
    path = os.path.realpath(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    keep: set[int] | None = None
    if resumed:
        # The last line per item, where an item's outcome on CME (ok, failed, unknown)
        # wins over a later invalid line for it: the latter sent nothing (see load()).
        last: dict[str, int] = {}
        last_invalid: dict[str, int] = {}
        for index, line in enumerate(_lines(path)):
            if "ok" in line:
                key = _key(line)
                if line.get("outcome") == "invalid":
                    last_invalid[key] = index
                else:
                    last[key] = index
                    last_invalid.pop(key, None)
        keep = set(last.values())
        keep.update(index for key, index in last_invalid.items() if key not in last)
        del last, last_invalid
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".cme-batch-", suffix=".jsonl", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for index, line in enumerate(_lines(path)):
                if (index in keep) if keep is not None else ("ok" in line):
                    out.write(dumps(line) + "\n")
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
