"""Batch items: what to call, for whom, under which id; and reading them from JSONL."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from .._catalogue import ActionSpec, action_spec
from ._results import BatchResult, invalid


def _check_action(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or value.count("/") != 1:
        raise ValueError(f"action must look like 'Material/DeleteMaterial', got {value!r}")


def _item_id(value: object) -> str:
    # An int id is its decimal string, as in a JSONL line: results and resume key on
    # the string, and an int would never match the checkpoint's "5" (sent twice).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"id must be a non-empty string or an int, got {value!r}")
    return value


@attrs.frozen(slots=True)
class BatchItem:
    """One call of a batch.

    ``id`` is unique within the batch (results and resume key on it); ``action`` is
    ``"Class/Name"``; ``body`` is the wire body (PascalCase keys, as CME documents it);
    ``user_id`` runs the call as that end user (``client.as_user``).
    """

    id: str = attrs.field(converter=_item_id)
    action: str = attrs.field(validator=_check_action)
    body: Mapping[str, Any] = attrs.field(factory=dict)
    user_id: str | None = None

    @property
    def action_class(self) -> str:
        return self.action.split("/", 1)[0]

    @property
    def action_name(self) -> str:
        return self.action.split("/", 1)[1]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "action": self.action, "body": dict(self.body)}
        if self.user_id is not None:
            out["user_id"] = self.user_id
        return out


@attrs.frozen(slots=True)
class SourceLine:
    """A line of a JSONL file: its number and the decoded value, or why it did not decode."""

    number: int
    value: Any = None
    error: str | None = None
    #: The ``invalid`` result's code when ``error`` is set.
    code: str = "NotJson"


#: The keys an item may have; any other is refused (a misspelt ``user_id`` would
#: otherwise run the call as the client's own user).
ITEM_KEYS = ("id", "action", "body", "user_id")

_BOM = b"\xef\xbb\xbf"

#: The longest line ``read_jsonl`` takes by default (a body bigger than this is almost
#: certainly a mistake, and reading it whole would cost several times its size).
MAX_LINE_BYTES = 16 * 1024 * 1024


def read_jsonl(
    path: str | os.PathLike[str], *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[SourceLine]:
    """Stream a JSONL file line by line (blank lines skipped); never holds it whole.

    Each line must be UTF-8 (a byte-order mark at the start of the file is allowed):
    a line that is not is refused (``NotUtf8``) rather than sent with its bytes
    replaced, which would change ids and bodies behind the user's back. A line longer
    than ``max_line_bytes`` is refused (``LineTooLong``) without being read whole.
    """
    if isinstance(max_line_bytes, bool) or not isinstance(max_line_bytes, int):
        raise TypeError(f"max_line_bytes must be an int, got {max_line_bytes!r}")
    if max_line_bytes < 1:
        raise ValueError(f"max_line_bytes must be positive, got {max_line_bytes!r}")
    with open(path, "rb") as fh:
        number = 0
        while raw := fh.readline(max_line_bytes + 1):
            number += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest, a chunk at a time
                    raw = fh.readline(1 << 20)
                yield SourceLine(
                    number,
                    error=f"longer than {max_line_bytes} bytes: one item per line, and a body "
                    "this big is probably a mistake (to allow it: cme batch --max-line-mb N, "
                    "read_jsonl(path, max_line_bytes=N))",
                    code="LineTooLong",
                )
                continue
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield SourceLine(
                    number,
                    error=f"not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of "
                    "the line): save the file as UTF-8",
                    code="NotUtf8",
                )
                continue
            try:
                value = json.loads(text)
            except RecursionError:  # one hostile line must not end the whole batch
                yield SourceLine(number, error="not JSON this program can read: nested too deeply")
                continue
            except json.JSONDecodeError as exc:
                yield SourceLine(
                    number,
                    error=f"not JSON ({exc.msg} at column {exc.colno}): each line must be "
                    "one JSON object",
                )
                continue
            yield SourceLine(number, value)


def count_lines(path: str | os.PathLike[str]) -> int:
    """Non-blank lines of a file, counted in binary chunks (for the progress total);
    memory stays at one chunk, however long a line is."""
    count = 0
    content = False  # the line under way so far has something other than blanks
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            *ended, rest = chunk.split(b"\n")
            for part in ended:
                if content or part.strip():
                    count += 1
                content = False
            content = content or bool(rest.strip())
    return count + (1 if content else 0)


def parse_item(raw: object, where: str) -> BatchItem | BatchResult:
    """A ``BatchItem`` from a mapping (or an item already), or an ``invalid`` result
    naming what is wrong and how to fix it."""
    if isinstance(raw, SourceLine):
        if raw.error is not None:
            return invalid(None, where, raw.error, raw.code)
        raw = raw.value
    if isinstance(raw, BatchItem):
        item = raw
    else:
        if not isinstance(raw, Mapping):
            return invalid(
                None, where, f"an item must be a JSON object, got {type(raw).__name__}", "NotObject"
            )
        item_id = raw.get("id")
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            item_id = str(item_id)
        if item_id is None or item_id == "":
            return invalid(None, where, 'missing "id" (a unique non-empty string)', "MissingId")
        if not isinstance(item_id, str):
            return invalid(
                None,
                where,
                f'"id" must be a string or an integer, got {type(item_id).__name__}',
                "BadId",
            )
        unknown = [key for key in raw if key not in ITEM_KEYS]
        if unknown:
            return invalid(item_id, where, _unknown_keys(unknown), "UnknownKey")
        action = raw.get("action")
        if not isinstance(action, str) or action.count("/") != 1:
            return invalid(
                item_id,
                where,
                f'"action" must look like "Material/DeleteMaterial", got {action!r}',
                "BadAction",
            )
        body = raw.get("body", {})
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            return invalid(
                item_id,
                where,
                f'"body" must be a JSON object, got {type(body).__name__}',
                "BadBody",
            )
        user_id = raw.get("user_id")
        if user_id is not None and (not isinstance(user_id, str) or not user_id):
            return invalid(item_id, where, '"user_id" must be a non-empty string', "BadUserId")
        item = BatchItem(item_id, action, body, user_id)
    spec = action_spec(item.action_class, item.action_name)
    if spec is None:
        return invalid(
            item.id,
            where,
            f"unknown action {item.action!r} (`cme actions` lists them)",
            "UnknownAction",
        )
    missing = _missing_fields(spec, item.body)
    if missing:
        return invalid(
            item.id,
            where,
            f"body of {item.action} misses required field(s) {', '.join(missing)}",
            "MissingParameter",
        )
    return item


def _unknown_keys(keys: list[Any]) -> str:
    named = ", ".join(repr(key) for key in keys)
    hints = [
        f"{key!r} -> {close[0]!r}"
        for key in keys
        if isinstance(key, str)
        and (close := difflib.get_close_matches(key.lower(), ITEM_KEYS, n=1, cutoff=0.6))
    ]
    hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
    return (
        f"unknown key(s) {named}{hint}: an item has only "
        f'{", ".join(ITEM_KEYS)}; the call\'s fields go inside "body"'
    )


def _missing_fields(spec: ActionSpec, body: Mapping[str, Any]) -> list[str]:
    missing = []
    for field in spec.request:
        if (
            field.required
            and field.wire not in body
            and not any(alias in body for alias in field.aliases)
        ):
            missing.append(field.wire)
    return missing
