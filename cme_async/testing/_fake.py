"""``FakeCme``: the emulator's public face.

A façade: it builds the world (records per platform, tickets), the controls (knobs,
counters, request log) and the credential registry, hands them to the ASGI
:class:`~._app.App`, and forwards the test-facing methods to them.  The app never
sees the façade.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from .. import _options
from .._catalogue import catalogue
from . import _control_api as ops
from ._app import App
from ._controls import LOGIN, Controls
from ._credentials import CredentialRegistry, Credentials
from ._ledger import DEFAULT_LOG_SIZE, Ledger, RequestRecord
from ._replies import LoginShape
from ._transport import FakeCmeTransport
from .handlers import dispatch_table
from .world import State, World
from .world.model import OwnerKey
from .world.seed import (
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    DEMO_USER_ID,
    demo_seed,
    load_seed,
)


class RequestLogOverflow(UserWarning):
    """The request log was read after it had dropped records (raise ``request_log_size``)."""


#: A base URL for in-process use; the transport routes by path, so any host works.
IN_PROCESS_URL = "http://cme-fake.invalid"


class FakeCme:
    """An in-memory emulator of the CME login endpoint and client API.

    Args:
        secret_id, secret_key, platform: the credentials signatures must be made with
            (more may be added with :meth:`add_credentials`).
        app_id: ``AppId`` the login answers with.
        seed: records to load into ``platform``'s space (a dict or a JSON file path).
        clock: Unix-time source (tests may pass a fake one).
        task_duration: seconds a ``ProcessMaterial`` task takes to reach ``SUCCESS``.
        ticket_ttl: seconds a ticket stays valid (None: until it is expired by a control).
        ai_page_size: items per page of the time-window AI queries.
        login_shape: ``"current"`` (``Response`` envelope) or ``"legacy"`` (old ``Code``/``Data``).
        rng_seed: makes generated ids reproducible.
        request_log_size: how many requests :attr:`requests` keeps (the oldest go first).
    """

    def __init__(
        self,
        secret_id: str = DEMO_SECRET_ID,
        secret_key: str = DEMO_SECRET_KEY,
        platform: str = DEMO_PLATFORM,
        *,
        app_id: int = 1200000001,
        seed: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.time,
        task_duration: float = 1.0,
        ticket_ttl: float | None = None,
        ai_page_size: int = 20,
        login_shape: LoginShape = "current",
        rng_seed: int | str | None = None,
        request_log_size: int = DEFAULT_LOG_SIZE,
    ) -> None:
        self.credentials = Credentials(secret_id, secret_key, platform)
        self.registry = CredentialRegistry(self.credentials)
        self.world = World(
            platform,
            clock=clock,
            app_id=app_id,
            task_duration=task_duration,
            rng_seed=rng_seed,
            ticket_ttl=ticket_ttl,
            ai_page_size=ai_page_size,
        )
        handlers = dispatch_table()
        known = frozenset(handlers) | frozenset(catalogue().actions)
        self.controls = Controls(known=known, ledger=Ledger(request_log_size))
        self.app = App(
            self.world, self.controls, self.registry, login_shape=login_shape, handlers=handlers
        )
        if seed is not None:
            self.load_seed(seed)

    @classmethod
    def seeded(cls, **kwargs: Any) -> FakeCme:
        """A FakeCme with the demo credentials and library (user ``DEMO_USER_ID``)."""
        kwargs.setdefault("rng_seed", 1156)
        fake = cls(**kwargs)
        fake.load_seed(demo_seed())
        return fake

    def load_seed(
        self, data: Mapping[str, Any] | str | os.PathLike[str], *, platform: str | None = None
    ) -> None:
        """Add records to ``platform``'s space (the first credentials' platform by default)."""
        load_seed(self.space(platform), data)

    # ---- the world --------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The records of the first credentials' platform."""
        return self.world.space(self.world.primary)

    def space(self, platform: str | None = None) -> State:
        """The records of ``platform`` (each platform has its own users, classes, materials);
        a platform no registered credentials serve is refused, since no login reaches it."""
        if platform is None:
            return self.world.space(self.world.primary)
        served = self.registry.platforms()
        if platform not in served:
            raise ValueError(
                f"platform {platform!r} is served by no credentials (served: "
                f"{', '.join(sorted(served))}); register it with add_credentials first"
            )
        return self.world.space(platform)

    @property
    def ticket_ttl(self) -> float | None:
        return self.world.tickets.ttl

    @ticket_ttl.setter
    def ticket_ttl(self, seconds: float | None) -> None:
        self.world.tickets.ttl = _options.seconds(seconds, "ticket_ttl")

    @property
    def ai_page_size(self) -> int:
        return self.world.ai_page_size

    @property
    def login_shape(self) -> LoginShape:
        return self.app.login_shape

    def add_credentials(self, secret_id: str, secret_key: str, platform: str) -> Credentials:
        """Accept Login signatures made with this key for ``platform`` too (another tenant).

        Each platform gets its own empty space; a ticket acts only as the (platform,
        user id) it was issued for."""
        return ops.add_credentials(self.world, self.registry, secret_id, secret_key, platform)

    # ---- mounting ---------------------------------------------------------------------
    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport serving this emulator in process (any host name works)."""
        return FakeCmeTransport(self.app)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractAsyncContextManager[str]:
        """``async with fake.serve() as url:`` runs a real HTTP server in the current loop."""
        from ._server import serve

        return serve(self.app, host, port)

    # ---- controls ---------------------------------------------------------------------
    def action_key(self, action: str) -> str:
        """``SearchMaterial`` or ``Material.SearchMaterial`` -> ``Material/SearchMaterial``."""
        return self.controls.action_key(action)

    def expire_tickets(self, user_id: str | None = None, *, platform: str | None = None) -> int:
        """Invalidate every ticket (or ``user_id``'s, on ``platform``); returns how many."""
        return ops.expire(self.world, user_id, platform)

    def expire_randomly(
        self,
        probability: float,
        *,
        seed: int | str | None = None,
        min_uses: int = 1,
        users: Collection[str] | None = None,
    ) -> None:
        """End the ticket a call presents with ``probability`` (reproducible with ``seed``),
        once it has served ``min_uses`` calls; only ``users``' tickets when given.
        The call is answered ``AuthFailure.SessionInvalid``; 0 turns it off."""
        self.controls.expire_randomly(probability, seed=seed, min_uses=min_uses, users=users)

    def fail_next(
        self,
        action: str | None,
        *,
        code: str | None = None,
        http_status: int | None = None,
        malformed: bool = False,
        drop_connection: bool = False,
        times: int = 1,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``action`` (``None`` = any, ``"Login"`` = the
        login endpoint) fail in exactly one way: an error ``code`` in the envelope, an HTTP
        status, a malformed body, or a connection dropped without an answer."""
        self.controls.fail_next(
            action,
            code=code,
            http_status=http_status,
            malformed=malformed,
            drop_connection=drop_connection,
            times=times,
            message=message,
            retry_after=retry_after,
        )

    def fail_randomly(
        self,
        probability: float,
        action: str | None = None,
        *,
        seed: int | str | None = None,
        code: str | None = None,
        http_status: int | None = None,
        malformed: bool = False,
        drop_connection: bool = False,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Fail each request to ``action`` (None: any, "Login": logins) with ``probability``,
        in one of the ``fail_next`` ways (``InternalError`` when none is given); reproducible
        with ``seed``.  ``probability=0`` removes it.  Rules armed by ``fail_next`` go first."""
        self.controls.fail_randomly(
            probability,
            action,
            seed=seed,
            code=code,
            http_status=http_status,
            malformed=malformed,
            drop_connection=drop_connection,
            message=message,
            retry_after=retry_after,
        )

    def fail_next_login(
        self,
        code: str | None = None,
        *,
        retry_after: float | None = None,
        times: int = 1,
        message: str | None = None,
        http_status: int | None = None,
        malformed: bool = False,
        drop_connection: bool = False,
    ) -> None:
        """Fail the next ``times`` logins: by default with ``code`` (``InternalError`` when
        nothing is given) in ``{"Response": {"Error": ...}}``, plus a ``Retry-After`` header."""
        if code is None and http_status is None and not malformed and not drop_connection:
            code = "InternalError"
        self.fail_next(
            LOGIN,
            code=code,
            http_status=http_status,
            malformed=malformed,
            drop_connection=drop_connection,
            times=times,
            message=message,
            retry_after=retry_after,
        )

    def latency(self, seconds: float, action: str | None = None) -> None:
        """Delay answers to ``action`` (or all) by ``seconds``; 0 removes the delay."""
        self.controls.latency(seconds, action)

    def login_latency(self, seconds: float) -> None:
        """Delay every login answer by ``seconds`` (0 removes the delay)."""
        self.controls.latency(seconds, LOGIN)

    def rate_limit(
        self, action: str | None, per_second: float | None, *, burst: float | None = None
    ) -> None:
        """Answer ``RequestLimitExceeded`` above ``per_second`` calls to ``action`` (each action
        separately when None); ``per_second=None`` removes the limit."""
        self.controls.rate_limit(action, per_second, burst=burst)

    def reset_controls(self) -> None:
        """Forget injected failures, latency, rate limits, random expiry, the counters and
        the request log (records and tickets stay)."""
        ops.reset(self.world, self.controls)

    # ---- what the emulator saw ----------------------------------------------------------
    @property
    def logins(self) -> int:
        """Successful logins (tickets issued)."""
        return self.controls.ledger.logins

    @property
    def login_attempts(self) -> int:
        return self.controls.ledger.login_attempts

    @property
    def calls(self) -> Counter[str]:
        """Requests per action, keyed ``"Material/SearchMaterial"``."""
        return self.controls.ledger.calls

    @property
    def internal_errors(self) -> list[str]:
        """Handler crashes (each answered ``InternalError``); a test may assert it is empty."""
        return self.controls.ledger.internal_errors

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first: every login and action request (see RequestRecord).

        It keeps the last ``request_log_size`` records; reading a log that has dropped
        some warns (:class:`RequestLogOverflow`), since a test auditing every call
        would otherwise pass over what it cannot see."""
        self._warn_if_dropped()
        return self.controls.ledger.requests

    def _warn_if_dropped(self) -> None:
        ledger = self.controls.ledger
        if ledger.dropped:
            warnings.warn(
                f"FakeCme's request log holds the last {ledger.log_size} requests; "
                f"{ledger.dropped} older ones were dropped. To keep them, create it with "
                "FakeCme(request_log_size=N) or set fake.request_log_size = N first.",
                RequestLogOverflow,
                stacklevel=3,
            )

    @property
    def request_log_size(self) -> int:
        """How many records :attr:`requests` keeps; set it to keep more (or 0 for none)."""
        return self.controls.ledger.log_size

    @request_log_size.setter
    def request_log_size(self, size: int) -> None:
        self.controls.ledger.resize(size)

    def requests_for(
        self,
        action: str | None = None,
        *,
        user_id: str | None = None,
        platform: str | None = None,
    ) -> list[RequestRecord]:
        """The logged requests to ``action`` ("Login", a name or "Class/Name") carrying a
        ticket (or signature) of ``user_id`` / ``platform``."""
        key = None if action is None else self.action_key(action)
        self._warn_if_dropped()
        return [
            r
            for r in self.controls.ledger.requests
            if (key is None or r.action == key)
            and (user_id is None or r.user_id == user_id)
            and (platform is None or r.platform == platform)
        ]

    def logins_for(self, user_id: str, platform: str | None = None) -> int:
        """Tickets issued to ``user_id`` (on ``platform``, or on every platform)."""
        return self.controls.ledger.logins_for(user_id, platform)

    def expiries_for(self, user_id: str, platform: str | None = None) -> int:
        """Tickets of ``user_id`` the emulator ended: ``expire_tickets``, random expiry, and
        ``ticket_ttl`` (counted when a call presents the ticket)."""
        return self.world.tickets.expiries_for(user_id, platform)

    # ---- conveniences for tests -----------------------------------------------------------
    def root_class_id(self, owner: OwnerKey | str = DEMO_USER_ID) -> int:
        key = ("PERSON", owner) if isinstance(owner, str) else owner
        return self.state.root(key).class_id

    def material_ids(self, user_id: str = DEMO_USER_ID) -> list[str]:
        """Ids of the materials in ``user_id``'s personal space, oldest first."""
        mats = [m for m in self.state.materials.values() if m.owner == ("PERSON", user_id)]
        return [m.material_id for m in sorted(mats, key=lambda m: (m.create_time, m.material_id))]

    def active_tickets(
        self, user_id: str | None = None, *, platform: str | None = None
    ) -> list[str]:
        return [
            t
            for t, s in self.world.tickets.sessions.items()
            if (user_id is None or s.user_id == user_id)
            and (platform is None or s.platform == platform)
        ]
