"""Event hooks: async callables the client awaits with structured events.

Use them to feed metrics or tracing without patching the SDK. A hook that raises
is logged at WARNING and otherwise ignored: observability never breaks a call.
Events never carry a ticket, a signature or a body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias, cast

import attrs

from ._redact import redact

logger = logging.getLogger("cme_async")


class _MaskedRepr:
    """Reprs that show an event's fields with every secret masked (the ``error`` field
    as its class and redacted message, never the exception object's own repr)."""

    __slots__ = ()

    def __repr__(self) -> str:
        parts = []
        for field in attrs.fields(cast(Any, type(self))):
            value = getattr(self, field.name)
            if isinstance(value, BaseException):
                shown = f"<{type(value).__name__}: {redact(str(value))}>"
            else:
                shown = redact(repr(value))
            parts.append(f"{field.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"


@attrs.frozen(repr=False)
class RequestEvent(_MaskedRepr):
    """An attempt is about to be sent."""

    action: str
    attempt: int


@attrs.frozen(repr=False)
class ResponseEvent(_MaskedRepr):
    """An attempt ended: with an answer (``http_status`` set) or a transport error."""

    action: str
    attempt: int
    elapsed: float
    http_status: int | None
    code: str | None
    request_id: str | None
    error: BaseException | None = None


@attrs.frozen(repr=False)
class RetryEvent(_MaskedRepr):
    """The retry policy decided about a failed attempt (``will_retry`` says which way)."""

    action: str
    attempt: int
    reason: str
    will_retry: bool
    delay: float | None
    error: BaseException


@attrs.frozen(repr=False)
class LoginEvent(_MaskedRepr):
    """A login exchange ended."""

    user_id: str
    elapsed: float
    ok: bool
    attempts: int
    error: BaseException | None = None


Hook: TypeAlias = Callable[[Any], Awaitable[None]]
HookArg: TypeAlias = Hook | Sequence[Hook] | None


def as_hooks(value: HookArg) -> tuple[Hook, ...]:
    if value is None:
        return ()
    if callable(value):
        return (value,)
    return tuple(value)


async def emit(hooks: tuple[Hook, ...], event: object, timeout: float | None = None) -> None:
    """Await each hook; one that raises is logged and skipped. ``timeout`` bounds each
    hook where a stuck one would hold others (the login every call of a user waits on)."""
    for hook in hooks:
        try:
            if timeout is None:
                await hook(event)
            else:
                async with asyncio.timeout(timeout) as scope:
                    await hook(event)
        except Exception:
            if timeout is not None and scope.expired():
                logger.warning(
                    "cme_async hook %r took more than %gs on %s; left behind",
                    hook,
                    timeout,
                    type(event).__name__,
                )
                continue
            logger.warning(
                "cme_async hook %r failed on %s", hook, type(event).__name__, exc_info=True
            )
