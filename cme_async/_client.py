"""``AsyncCmeClient``: lifecycle, options and the one road every action call travels.

call → limits (slot, rate) → ticket from the token manager → POST → envelope →
Data, or a typed error → retry policy / one new login on an auth error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from . import _retry
from ._catalogue import action_spec
from ._constants import (
    DEFAULT_API_URL,
    DEFAULT_LOGIN_URL,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._envelope import parse_action_response
from ._errors import (
    AuthError,
    ClientClosedError,
    CmeApiError,
    CmeError,
    CmeTimeoutError,
)
from ._generated.mixin import ActionNamespaces
from ._hooks import (
    HookArg,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    as_hooks,
    emit,
)
from ._limits import Limits
from ._login import LoginExchange
from ._shared import SharedState, default_http_client
from ._signing import Signer
from ._tokens import Ticket, TicketStore, TokenManager

logger = logging.getLogger("cme_async")
_DEBUG = logging.DEBUG
_EMPTY_BODY = b"{}"
# One encoder for every call (json.dumps with options builds a JSONEncoder each time).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if value is not None and value <= 0:
        raise ValueError(f"timeout must be positive, got {value}")
    return httpx.Timeout(value)


def _check_retries(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be a non-negative int, got {value!r}")
    return value


class _Attempts:
    """Progress of one call, readable by the deadline handler."""

    __slots__ = ("count", "last_error")

    def __init__(self) -> None:
        self.count = 0
        self.last_error: BaseException | None = None


class AsyncCmeClient(ActionNamespaces):
    """Asynchronous client for the CME client API.

    One client holds one connection pool and one token manager; every call made
    through it, and through views from ``with_options``, shares both. Open it
    with ``async with`` in the event loop that uses it.

    Args:
        signer: ``await signer(user_id)`` returns a fresh ``Login`` signature
            (``LocalSigner`` or your own backend call).
        user_id: the end user the client acts for.
        api_url / login_url: service endpoints (point them at the emulator in tests).
        http_client: an ``httpx.AsyncClient`` to use as given (never closed by the SDK).
        timeout: seconds per attempt (each httpx phase), or an ``httpx.Timeout``.
        max_retries: replays after retryable failures (see README, "Retries").
        deadline: overall seconds per call, covering every attempt and wait.
        ticket_ttl: renew a ticket older than this many seconds before use.
        ticket_store: where tickets are cached (``MemoryTicketStore`` by default).
        max_concurrency: calls in flight at once (default 100, the default pool's size);
            the others queue in the SDK. None removes the bound (then size the pool yourself).
        rate_limit: calls per second over all actions.
        action_rate_limit: calls per second per action (a number for every action,
            or a mapping ``{"Material/SearchMaterial": 20}``).
        on_request / on_response / on_retry / on_login: async event hooks.
    """

    def __init__(
        self,
        signer: Signer,
        user_id: str,
        *,
        api_url: str = DEFAULT_API_URL,
        login_url: str = DEFAULT_LOGIN_URL,
        http_client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = None,
        ticket_ttl: float | None = None,
        ticket_store: TicketStore | None = None,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        rate_limit: float | None = None,
        action_rate_limit: float | Mapping[str, float] | None = None,
        on_request: HookArg = None,
        on_response: HookArg = None,
        on_retry: HookArg = None,
        on_login: HookArg = None,
    ) -> None:
        if not callable(signer):
            raise TypeError("signer must be an async callable: await signer(user_id) -> str")
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("user_id must be a non-empty string")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError("http_client must be an httpx.AsyncClient")
        self._timeout = _timeout(timeout)
        self._max_retries = _check_retries(max_retries)
        self._deadline = self._check_deadline(deadline)
        self._on_request = as_hooks(on_request)
        self._on_response = as_hooks(on_response)
        self._on_retry = as_hooks(on_retry)
        owns_http = http_client is None
        http = http_client if http_client is not None else default_http_client()
        login = LoginExchange(
            signer,
            http,
            login_url,
            timeout=self._timeout,
            max_retries=self._max_retries,
            hooks=as_hooks(on_login),
        )
        tokens = TokenManager(login, store=ticket_store, ticket_ttl=ticket_ttl)
        limits = Limits(
            max_concurrency=max_concurrency,
            rate_limit=rate_limit,
            action_rate_limit=action_rate_limit,
        )
        platform = getattr(signer, "platform", None)
        key = f"{platform if isinstance(platform, str) else '*'}/{user_id}"
        self._shared = SharedState(http, owns_http, tokens, limits, api_url, user_id, key)

    @staticmethod
    def _check_deadline(deadline: float | None) -> float | None:
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be positive, got {deadline}")
        return deadline

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        shared = self._shared
        if shared.closed:
            raise ClientClosedError("the client is closed; create a new AsyncCmeClient")
        if shared.loop is None:
            shared.loop = asyncio.get_running_loop()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client: calls still running end with ``ClientClosedError``.

        The connection pool is closed only if the SDK created it.
        """
        shared = self._shared
        if shared.closed:
            return
        shared.closed = True
        current = asyncio.current_task()
        pending = [t for t in shared.active if t is not current and not t.done()]
        for task in pending:
            task.cancel(msg="cme_async: client closed")
        shared.tokens.cancel_pending()
        for orphan in list(shared.orphans):
            orphan.cancel()
        pending.extend(shared.orphans)
        if pending:
            # Give cancelled calls a moment to unwind and release their connections.
            await asyncio.wait(pending, timeout=5.0)
        if shared.owns_http:
            await shared.http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._shared.closed

    @property
    def user_id(self) -> str:
        return self._shared.user_id

    @property
    def tokens(self) -> TokenManager:
        """The token manager shared by this client and its ``with_options`` views."""
        return self._shared.tokens

    @property
    def ticket(self) -> Ticket | None:
        """The ticket in use (None before the first login or after it was refused)."""
        return self._shared.tokens.known(self._shared.key)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Self:
        """A view of this client with other defaults, sharing its pool, tickets and limits.

        Cheap enough to call per request; closing the view closes the shared client.
        """
        view = object.__new__(type(self))
        # Copy the private state only: generated namespaces are cached per instance
        # (public attributes) and must be rebuilt around the view.
        view.__dict__.update({k: v for k, v in self.__dict__.items() if k.startswith("_")})
        if timeout is not None:
            view._timeout = _timeout(timeout)
        if max_retries is not None:
            view._max_retries = _check_retries(max_retries)
        if deadline is not None:
            view._deadline = self._check_deadline(deadline)
        return view

    def __repr__(self) -> str:
        shared = self._shared
        return (
            f"<{type(self).__name__} user_id={shared.user_id!r} api={shared.api_base!r} "
            f"closed={shared.closed}>"
        )

    # -- the call road -----------------------------------------------------------------

    async def call(
        self,
        action_class: str,
        action_name: str,
        body: Mapping[str, Any] | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
        replay_safe: bool | None = None,
    ) -> Any:
        """Call ``POST /PaaS/<action_class>/<action_name>`` and return the answer's ``Data``.

        Returns None when the answer has no ``Data``. Raises a ``CmeApiError`` subclass
        chosen by the error code, or ``CmeConnectionError`` / ``CmeTimeoutError`` /
        ``CmeHTTPError`` / ``MalformedResponseError``. ``replay_safe`` overrides the
        catalogue's flag (unknown actions are treated as not safe to replay).
        """
        shared = self._shared
        task = shared.enter()
        action = f"{action_class}/{action_name}"
        try:
            if replay_safe is None:
                spec = action_spec(action_class, action_name)
                replay_safe = spec.replay_safe if spec is not None else False
            content = _EMPTY_BODY if not body else _encode(body).encode()
            attempt_timeout = self._timeout if timeout is None else _timeout(timeout)
            retries = self._max_retries if max_retries is None else _check_retries(max_retries)
            limit = self._deadline if deadline is None else self._check_deadline(deadline)
            url = shared.api_base + action
            if limit is None:
                return await self._run(
                    action, url, content, attempt_timeout, retries, replay_safe, _Attempts()
                )
            progress = _Attempts()
            try:
                async with asyncio.timeout(limit):
                    return await self._run(
                        action, url, content, attempt_timeout, retries, replay_safe, progress
                    )
            except TimeoutError as exc:
                last = progress.last_error
                detail = f"; last error: {_retry.describe(last)}" if last is not None else ""
                err = CmeTimeoutError(
                    f"deadline of {limit:g}s exceeded after {progress.count} attempt(s){detail}",
                    action=action,
                    kind="deadline",
                )
                err.attempts = max(progress.count, 1)
                raise err from exc
        except asyncio.CancelledError:
            if shared.closed and task is not None and task.uncancel() == 0:
                raise ClientClosedError(
                    f"{action}: the client was closed during the call"
                ) from None
            raise
        finally:
            if task is not None:
                shared.active.discard(task)

    async def _run(
        self,
        action: str,
        url: str,
        content: bytes,
        timeout: httpx.Timeout,
        max_retries: int,
        replay_safe: bool,
        progress: _Attempts,
    ) -> Any:
        shared = self._shared
        tokens = shared.tokens
        relogged = False
        retries = 0
        while True:
            progress.count += 1
            attempt = progress.count
            ticket = await tokens.get(shared.key, shared.user_id)
            try:
                return await self._attempt(action, url, content, timeout, ticket, attempt)
            except AuthError as exc:
                progress.last_error = exc
                if relogged:
                    exc.attempts = attempt
                    raise
                relogged = True
                await tokens.invalidate(shared.key, ticket)
                logger.info(
                    "cme_async %s: %s on the cached ticket; logging in again", action, exc.code
                )
                await self._report_retry(action, attempt, f"auth failure ({exc.code})", 0.0, exc)
                continue
            except (httpx.TransportError, CmeError) as exc:
                progress.last_error = exc
                decision = _retry.classify(exc, replay_safe=replay_safe)
                delay: float | None = None
                if decision.verdict == "retry" and retries < max_retries:
                    headers = exc.headers if isinstance(exc, CmeError) else None
                    delay = _retry.backoff_delay(retries + 1, _retry.parse_retry_after(headers))
                await self._report_retry(action, attempt, decision.reason, delay, exc)
                if delay is None:
                    err = _retry.as_cme_error(exc, action, attempt)
                    err.may_have_run = decision.verdict == "raise_may_have_run"
                    raise err from (exc if not isinstance(exc, CmeError) else exc.__cause__)
                retries += 1
                logger.info(
                    "cme_async %s attempt %d failed (%s); retry %d/%d in %.2fs",
                    action,
                    attempt,
                    decision.reason,
                    retries,
                    max_retries,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _report_retry(
        self, action: str, attempt: int, reason: str, delay: float | None, error: BaseException
    ) -> None:
        """Tell the on_retry hooks what the policy decided (delay None: not retrying)."""
        if self._on_retry:
            event = RetryEvent(
                action=action,
                attempt=attempt,
                reason=reason,
                will_retry=delay is not None,
                delay=delay,
                error=error,
            )
            await emit(self._on_retry, event)

    async def _attempt(
        self,
        action: str,
        url: str,
        content: bytes,
        timeout: httpx.Timeout,
        ticket: Ticket,
        attempt: int,
    ) -> Any:
        shared = self._shared
        limits = shared.limits
        semaphore = limits.semaphore() if limits.active else None
        if semaphore is not None:
            await semaphore.acquire()
        try:
            if limits.active:
                await limits.wait_rate(action)
            if self._on_request:
                await emit(self._on_request, RequestEvent(action=action, attempt=attempt))
            started = time.monotonic()
            response: httpx.Response | None = None
            code: str | None = None
            error: BaseException | None = None
            try:
                response = await shared.send(
                    shared.url_for(url, ticket.authorization), content, timeout
                )
                try:
                    return parse_action_response(
                        response.status_code, response.headers, response.content, action
                    )
                except CmeError as exc:
                    code = exc.code if isinstance(exc, CmeApiError) else None
                    exc.headers = response.headers
                    raise
            except BaseException as exc:
                error = exc
                raise
            finally:
                elapsed = time.monotonic() - started
                debug = logger.isEnabledFor(_DEBUG)
                status = request_id = None
                if response is not None and (debug or self._on_response):
                    # Read only when someone will see it: a header lookup is a linear scan.
                    status = response.status_code
                    request_id = response.headers.get("x-request-id")
                if debug:
                    logger.debug(
                        "cme_async %s attempt=%d status=%s code=%s elapsed_ms=%.1f request_id=%s%s",
                        action,
                        attempt,
                        status,
                        code or ("Success" if error is None else "-"),
                        elapsed * 1000,
                        request_id,
                        ""
                        if error is None or status is not None
                        else f" error={type(error).__name__}",
                    )
                if self._on_response:
                    await emit(
                        self._on_response,
                        ResponseEvent(
                            action=action,
                            attempt=attempt,
                            elapsed=elapsed,
                            http_status=status,
                            code=code or ("Success" if error is None else None),
                            request_id=request_id,
                            error=error,
                        ),
                    )
        finally:
            if semaphore is not None:
                semaphore.release()
