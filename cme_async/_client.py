"""``AsyncCmeClient``: configuration, lifecycle, views, and the entry of every call.

call → checks (action name, body, options; nothing sent on a bad one) → the retry loop
(``_retry.run``) over ``_pipeline.ActionAttempt`` → Data, or a typed error. A deadline,
a cancellation or a close that cuts the call short says honestly whether it may have run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from . import _options, _retry
from ._catalogue import action_spec
from ._constants import (
    DEFAULT_API_URL,
    DEFAULT_LOGIN_URL,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    LOGIN_MAX_RESPONSE_BYTES,
)
from ._errors import ClientClosedError
from ._generated.mixin import ActionNamespaces
from ._hooks import HookArg, as_hooks
from ._limits import Limits, RateLimiter
from ._login import LoginExchange
from ._pipeline import ActionAttempt, Observers, RawResult, retry_reporter
from ._shared import SharedState, host_and_port
from ._signing import LocalSigner, Signer
from ._tokens import Identity, Ticket, TicketStore, TokenManager
from ._transport import Transport
from ._transport._factory import make_transport


class AsyncCmeClient(ActionNamespaces):
    """Asynchronous client for the CME client API.

    A root client holds one transport (connection pool), one token manager and the
    limits. ``as_user()`` and ``with_options()`` return cheap views that share all of
    it; views own nothing, so closing a view leaves the root open, and closing the
    root ends every view. Open the root with ``async with`` in the loop that uses it.

    Args:
        signer: ``await signer(user_id)`` returns a fresh ``Login`` signature
            (``LocalSigner`` or your own backend call).
        user_id: the end user this client acts for; None for a root that only hands
            out ``as_user()`` views (one per request in a web app).
        platform: the CME platform; defaults to ``signer.platform`` (``LocalSigner``).
        api_url / login_url: service endpoints (point them at the emulator in tests).
            ``http://`` is accepted only for loopback hosts unless ``allow_insecure``.
        http_client: an ``httpx.AsyncClient`` to send through (never closed by the SDK).
        transport: ``"httpx"`` (default) or ``"aiohttp"`` (native, fastest; needs the
            ``aiohttp`` extra).
        timeout: seconds per attempt, from connecting to the last byte.
        max_retries: replays after retryable failures (README, "Retries").
        deadline: overall seconds per call, covering every attempt and wait.
        max_response_bytes: answers larger than this are refused while streaming.
        ticket_ttl: renew a ticket older than this many seconds before use.
        ticket_store: where tickets are cached (``MemoryTicketStore`` by default;
            ``cme_async.redis.RedisTicketStore`` to share them among processes).
        max_concurrency: calls in flight at once (default 100); None removes the bound.
        rate_limit / action_rate_limit: calls per second overall / per action: a number
            (in-process), a mapping ``{"Material/SearchMaterial": 20}``, or a shared
            ``RateLimiter`` such as ``cme_async.redis.RedisRateLimiter``.
        on_request / on_response / on_retry / on_login: async event hooks.
    """

    _shared: SharedState
    _identity: Identity | None
    _is_view: bool

    def __init__(
        self,
        signer: Signer,
        user_id: str | None = None,
        *,
        platform: str | None = None,
        api_url: str = DEFAULT_API_URL,
        login_url: str = DEFAULT_LOGIN_URL,
        http_client: httpx.AsyncClient | None = None,
        transport: Literal["httpx", "aiohttp"] | Transport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        ticket_ttl: float | None = None,
        ticket_store: TicketStore | None = None,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        rate_limit: float | RateLimiter | None = None,
        action_rate_limit: float | Mapping[str, float] | RateLimiter | None = None,
        allow_insecure: bool = False,
        on_request: HookArg = None,
        on_response: HookArg = None,
        on_retry: HookArg = None,
        on_login: HookArg = None,
    ) -> None:
        _options.signer(signer)
        self._platform = _options.platform_of(signer, platform)
        api_url = _options.endpoint(api_url, "api_url", allow_insecure=allow_insecure)
        login_url = _options.endpoint(login_url, "login_url", allow_insecure=allow_insecure)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError("http_client must be an httpx.AsyncClient")
        self._timeout = _options.attempt_timeout(timeout)
        self._max_retries = _options.retries(max_retries)
        self._deadline = _options.seconds(deadline, "deadline")
        self._max_bytes = _options.max_bytes(max_response_bytes)
        self._observers = Observers(as_hooks(on_request), as_hooks(on_response), as_hooks(on_retry))
        limits = Limits(
            max_concurrency=max_concurrency,
            rate_limit=rate_limit,
            action_rate_limit=action_rate_limit,
        )
        sender, _ = make_transport(http_client, transport)
        # Our transport objects are always closed (that ends exchanges in flight; a pool
        # you passed in stays open); a Transport object you passed in is yours.
        owned = transport is None or isinstance(transport, str)
        login = LoginExchange(
            signer,
            sender,
            login_url,
            timeout=self._timeout,
            max_retries=self._max_retries,
            max_bytes=LOGIN_MAX_RESPONSE_BYTES,
            where=host_and_port(login_url),
            hooks=as_hooks(on_login),
        )
        tokens = TokenManager(
            login,
            store=ticket_store,
            ticket_ttl=ticket_ttl,
            # A little longer than one login attempt may take under the timeout.
            login_lock_ttl=self._timeout * 1.5 + 1.0,
        )
        self._login_url = login_url
        self._shared = SharedState(sender, owned, tokens, limits, api_url)
        self._is_view = False
        self._identity = None if user_id is None else self._identity_for(user_id)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """A client configured from ``CME_*`` variables; keyword arguments override them.

        Reads ``CME_SECRET_ID``, ``CME_SECRET_KEY``, ``CME_PLATFORM`` (required, unless
        ``signer=`` is given), ``CME_USER_ID``, ``CME_API_URL`` and ``CME_LOGIN_URL``.
        """
        env = os.environ if environ is None else environ
        try:
            signer = overrides.pop("signer", None) or LocalSigner.from_env(env)
            for name, variable in (
                ("user_id", "CME_USER_ID"),
                ("api_url", "CME_API_URL"),
                ("login_url", "CME_LOGIN_URL"),
            ):
                if name not in overrides and env.get(variable):
                    overrides[name] = env[variable]
            return cls(signer, **overrides)
        finally:
            # The environment holds the key: not a local of a frame in a traceback.
            del env, environ

    def _identity_for(self, user_id: object) -> Identity:
        return Identity(self._login_url, self._platform, _options.user_id(user_id))

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
        """Close the root client: calls of every view end with ``ClientClosedError``.

        On a view (``as_user``, ``with_options``) this does nothing: views own nothing.
        A connection pool you passed in (``http_client``) is never closed by the SDK.
        """
        if not self._is_view:
            await self._shared.close()

    @property
    def is_closed(self) -> bool:
        return self._shared.closed

    @property
    def user_id(self) -> str | None:
        return None if self._identity is None else self._identity.user_id

    @property
    def platform(self) -> str:
        return self._platform

    @property
    def tokens(self) -> TokenManager:
        """The token manager shared by the root client and all its views."""
        return self._shared.tokens

    @property
    def ticket(self) -> Ticket | None:
        """This identity's ticket (None before its first login or after it was refused)."""
        return None if self._identity is None else self._shared.tokens.known(self._identity)

    async def login(self) -> Ticket:
        """This identity's ticket, logging in first if there is none (single flight).

        Use it to check a key and a platform at start-up; calls log in by themselves.
        """
        identity = self._identity
        if identity is None:
            raise ValueError("this client acts for no user; call client.as_user(user_id).login()")
        self._shared.enter_once()
        return await self._shared.tokens.get(identity)

    # -- views -----------------------------------------------------------------------

    def _view(self) -> Self:
        view = object.__new__(type(self))
        # Copy the private state only: generated namespaces are cached per instance
        # (public attributes) and must be rebuilt around the view.
        view.__dict__.update({k: v for k, v in self.__dict__.items() if k.startswith("_")})
        view._is_view = True
        return view

    def as_user(self, user_id: str) -> Self:
        """A view acting for ``user_id``: same pool, limits, hooks, options and token
        manager; its own ticket. No I/O; cheap enough for every request of a web app."""
        view = self._view()
        view._identity = self._identity_for(user_id)
        return view

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
        max_response_bytes: int | None = None,
    ) -> Self:
        """A view with other defaults, sharing everything else (and keeping its user)."""
        view = self._view()
        if timeout is not None:
            view._timeout = _options.attempt_timeout(timeout)
        if max_retries is not None:
            view._max_retries = _options.retries(max_retries)
        if deadline is not None:
            view._deadline = _options.seconds(deadline, "deadline")
        if max_response_bytes is not None:
            view._max_bytes = _options.max_bytes(max_response_bytes)
        return view

    def __repr__(self) -> str:
        shared = getattr(self, "_shared", None)
        if shared is None:  # a traceback rendered with locals shows a half-built one too
            return f"<{type(self).__name__} (not constructed)>"
        identity = getattr(self, "_identity", None)
        return (
            f"<{type(self).__name__} user_id={identity and identity.user_id!r} "
            f"platform={self._platform!r} api={shared.api_base!r}"
            f"{' view' if self._is_view else ''} closed={shared.closed}>"
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
        max_response_bytes: int | None = None,
    ) -> Any:
        """Call ``POST /PaaS/<action_class>/<action_name>`` and return the answer's ``Data``.

        Returns None when the answer has no ``Data``. Raises a ``CmeApiError`` subclass
        chosen by the error code, ``CmeConnectionError`` / ``CmeTimeoutError`` /
        ``CmeHTTPError`` / ``MalformedResponseError``, or ``InvalidRequestError`` when
        the request is refused before sending. ``replay_safe`` overrides the catalogue's
        flag (unknown actions are treated as not safe to replay).
        """
        attempt = await self._invoke(
            action_class,
            action_name,
            body,
            timeout,
            max_retries,
            deadline,
            replay_safe,
            max_response_bytes,
        )
        return attempt.data

    async def call_raw(
        self,
        action_class: str,
        action_name: str,
        body: Mapping[str, Any] | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
        replay_safe: bool | None = None,
        max_response_bytes: int | None = None,
    ) -> RawResult:
        """Like ``call``, with what the answer said beside ``Data``: its request id (for
        support tickets and logs), HTTP status and the attempts made."""
        attempt = await self._invoke(
            action_class,
            action_name,
            body,
            timeout,
            max_retries,
            deadline,
            replay_safe,
            max_response_bytes,
        )
        return RawResult(attempt.data, attempt.request_id, attempt.status, attempt.progress.count)

    async def _invoke(
        self,
        action_class: str,
        action_name: str,
        body: Mapping[str, Any] | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
        deadline: float | None,
        replay_safe: bool | None,
        max_response_bytes: int | None,
    ) -> ActionAttempt:
        """Check everything, then run the retry loop; the finished attempt holds the answer."""
        _options.action_part(action_class, "action_class")
        _options.action_part(action_name, "action_name")
        action = f"{action_class}/{action_name}"
        identity = self._identity
        if identity is None:
            raise ValueError(
                f"{action}: this client acts for no user; call client.as_user(user_id) "
                "and make the call on the view it returns"
            )
        if _options.replay_safe(replay_safe) is None:
            spec = action_spec(action_class, action_name)
            replay_safe = spec.replay_safe if spec is not None else False
        content = _options.encode_body(body, action)
        attempt_timeout = self._timeout if timeout is None else _options.attempt_timeout(timeout)
        retries = self._max_retries if max_retries is None else _options.retries(max_retries)
        limit = self._deadline if deadline is None else _options.seconds(deadline, "deadline")
        max_bytes = (
            self._max_bytes
            if max_response_bytes is None
            else _options.max_bytes(max_response_bytes)
        )
        shared = self._shared
        task, registered = shared.enter()
        progress = _retry.Progress()
        attempt = ActionAttempt(
            shared, identity, action, content, attempt_timeout, max_bytes, self._observers, progress
        )
        cut_short: Exception | None = None
        run = _retry.run(
            attempt,
            action=action,
            replay_safe=bool(replay_safe),
            max_retries=retries,
            progress=progress,
            where=shared.endpoint,
            on_retry=retry_reporter(self._observers, action),
        )
        try:
            if limit is None:
                await run
                return attempt
            scope = asyncio.timeout(limit)
            try:
                async with scope:
                    await run
                    return attempt
            except TimeoutError:
                if not scope.expired():
                    raise
                cut_short = _retry.deadline_error(action, limit, progress)
        except asyncio.CancelledError:
            # A call nested in another's task (from a hook) leaves the close to that call.
            if not (shared.closed and registered and task is not None and task.uncancel() == 0):
                raise
            cut_short = ClientClosedError(f"{action}: the client was closed during the call")
            cut_short.may_have_run = progress.may_have_run
            cut_short.attempts = progress.sent
        finally:
            if registered:
                shared.active.discard(task)
        # Raised here, outside every except block: no transport error rides along.
        raise cut_short
