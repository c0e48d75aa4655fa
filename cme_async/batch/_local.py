"""Running an item in this process: ``client.call`` (through ``client.as_user``)."""

from __future__ import annotations

import contextvars
import time
from typing import TYPE_CHECKING, Any, Protocol

from .. import _options
from .._hooks import RetryEvent
from ._items import BatchItem
from ._results import BatchResult, ItemError, error_of, failure

NO_USER = (
    'the item has no "user_id" and the client acts for no user: add "user_id" to the '
    "item, or give the client one (CME_USER_ID, cme batch --user-id)"
)

if TYPE_CHECKING:
    from .._client import AsyncCmeClient

_attempts: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "cme_batch_attempts", default=None
)


async def count_attempts(event: RetryEvent) -> None:
    """An ``on_retry`` hook that counts attempts for clients without ``call_raw``.

    ``AsyncCmeClient`` has ``call_raw``, which reports the attempts itself; this hook is
    for clients that only have ``call`` (without it a success reports 1 attempt).
    """
    box = _attempts.get()
    if box is not None and event.will_retry:
        box[0] += 1


class Executor(Protocol):
    """Runs one item and returns its result (never raises for the item's own failure)."""

    async def __call__(self, item: BatchItem, replay_safe: bool) -> BatchResult: ...


class LocalExecutor:
    """Sends each item with ``client.call``; items with a ``user_id`` go through
    ``client.as_user(user_id)``, which shares the pool, limits and tickets."""

    def __init__(
        self,
        client: AsyncCmeClient,
        *,
        deadline: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        # Checked here, before any item: a bad value would otherwise fail every item.
        self.client = client
        self.deadline = _options.seconds(deadline, "deadline")
        self.max_retries = None if max_retries is None else _options.retries(max_retries)

    def _target(self, user_id: str | None) -> Any:
        client: Any = self.client
        if user_id is None or user_id == getattr(client, "user_id", None):
            return client
        as_user = getattr(client, "as_user", None)
        if as_user is None:
            raise TypeError("items with a user_id need a client with as_user() (cme-async >= 0.2)")
        return as_user(user_id)

    def refuse(self, item: BatchItem) -> BatchResult | None:
        """The ``invalid`` result for an item this client cannot send, else None (the
        runner asks before its write-ahead line: nothing is sent for such an item)."""
        client = self.client
        if item.user_id is None and hasattr(client, "user_id") and client.user_id is None:
            return BatchResult(
                item.id,
                "invalid",
                item.action,
                error=ItemError("InvalidItem", NO_USER, code="MissingUserId"),
            )
        return None

    async def __call__(self, item: BatchItem, replay_safe: bool) -> BatchResult:
        refused = self.refuse(item)
        if refused is not None:
            return refused
        box = [1]
        token = _attempts.set(box)
        started = time.monotonic()
        request_id = None
        try:
            target = self._target(item.user_id)
            options = {
                "deadline": self.deadline,
                "max_retries": self.max_retries,
                "replay_safe": replay_safe,
            }
            call_raw = getattr(target, "call_raw", None)
            if call_raw is not None:  # Data plus the request id and the exact attempts
                raw = await call_raw(item.action_class, item.action_name, item.body, **options)
                data, request_id, box[0] = raw.data, raw.request_id, raw.attempts
            else:
                data = await target.call(item.action_class, item.action_name, item.body, **options)
        except Exception as exc:
            error = error_of(exc, replay_safe=replay_safe)
            attempts = getattr(exc, "attempts", box[0]) if error.type != "TypeError" else 0
            return failure(
                item.id,
                item.action,
                error,
                replay_safe=replay_safe,
                attempts=int(attempts),
                elapsed=time.monotonic() - started,
            )
        finally:
            _attempts.reset(token)
        return BatchResult(
            item.id,
            "ok",
            item.action,
            data=data,
            attempts=box[0],
            elapsed=time.monotonic() - started,
            request_id=request_id,
        )
