"""``FakeCme``: the emulator's public face (state + controls + mounting)."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

import httpx

from ._app import CmeApp
from ._controls import Controls, FailRule, FailureKind
from ._handlers import handlers
from ._login import Credentials
from ._model import OwnerKey
from ._seed import (
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    DEMO_USER_ID,
    demo_seed,
    load_seed,
)
from ._state import State
from ._transport import FakeCmeTransport
from ._validate import catalogue

#: A base URL for in-process use; the transport routes by path, so any host works.
IN_PROCESS_URL = "http://cme-fake.invalid"


class FakeCme:
    """An in-memory emulator of the CME login endpoint and client API.

    Args:
        secret_id, secret_key, platform: the credentials signatures must be made with.
        app_id: ``AppId`` the login answers with.
        seed: records to load (a dict or a JSON file path, see ``_seed.py``).
        clock: Unix-time source (tests may pass a fake one).
        task_duration: seconds a ``ProcessMaterial`` task takes to reach ``SUCCESS``.
        ticket_ttl: seconds a ticket stays valid (None: until ``expire_tickets``).
        ai_page_size: items per page of the time-window AI queries.
        login_shape: ``"current"`` (``Response`` envelope) or ``"legacy"`` (old ``Code``/``Data``).
        rng_seed: makes generated ids reproducible.
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
        login_shape: Literal["current", "legacy"] = "current",
        rng_seed: int | str | None = None,
    ) -> None:
        self.credentials = Credentials(secret_id, secret_key, platform)
        self.state = State(
            clock=clock, app_id=app_id, task_duration=task_duration, rng=random.Random(rng_seed)
        )
        self.controls = Controls()
        self.ticket_ttl = ticket_ttl
        self.ai_page_size = ai_page_size
        self.login_shape = login_shape
        self.internal_errors: list[str] = []
        self.app = CmeApp(self)
        if seed is not None:
            self.load_seed(seed)

    @classmethod
    def seeded(cls, **kwargs: Any) -> FakeCme:
        """A FakeCme with the demo credentials and library (user ``DEMO_USER_ID``)."""
        kwargs.setdefault("rng_seed", 1156)
        fake = cls(**kwargs)
        fake.load_seed(demo_seed())
        return fake

    def load_seed(self, data: Mapping[str, Any] | str | os.PathLike[str]) -> None:
        load_seed(self.state, data)

    # ---- mounting ----------------------------------------------------------------
    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport serving this emulator in process (any host name works)."""
        return FakeCmeTransport(self.app)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractAsyncContextManager[str]:
        """``async with fake.serve() as url:`` runs a real HTTP server in the current loop."""
        from ._server import serve

        return serve(self.app, host, port)

    # ---- controls -------------------------------------------------------------------
    def action_key(self, action: str) -> str:
        """``SearchMaterial`` or ``Material.SearchMaterial`` -> ``Material/SearchMaterial``."""
        if action == "Login":
            return action
        known = set(handlers()) | set(catalogue()[0])
        key = action.replace(".", "/")
        if "/" in key:
            if key not in known:
                raise ValueError(f"unknown action {action!r}")
            return key
        matches = [k for k in known if k.split("/", 1)[1] == key]
        if len(matches) != 1:
            raise ValueError(f"unknown or ambiguous action {action!r}")
        return matches[0]

    def expire_tickets(self, user_id: str | None = None) -> int:
        """Invalidate every ticket (or ``user_id``'s); returns how many were dropped."""
        return self.state.expire_sessions(user_id)

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
        chosen: list[FailureKind] = []
        if code is not None:
            chosen.append("code")
        if http_status is not None:
            chosen.append("http_status")
        if malformed:
            chosen.append("malformed")
        if drop_connection:
            chosen.append("drop_connection")
        kinds = chosen
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of code=, http_status=, malformed=True, drop_connection=True"
            )
        if times < 1:
            raise ValueError("times must be at least 1")
        key = None if action is None else self.action_key(action)
        self.controls.rules.append(
            FailRule(
                key,
                kinds[0],
                times,
                code=code,
                http_status=http_status,
                message=message,
                retry_after=retry_after,
            )
        )

    def latency(self, seconds: float, action: str | None = None) -> None:
        """Delay answers to ``action`` (or all) by ``seconds``; 0 removes the delay."""
        key = None if action is None else self.action_key(action)
        if seconds <= 0:
            self.controls.latencies.pop(key, None)
        else:
            self.controls.latencies[key] = seconds

    def rate_limit(
        self, action: str | None, per_second: float | None, *, burst: float | None = None
    ) -> None:
        """Answer ``RequestLimitExceeded`` above ``per_second`` calls to ``action`` (each action
        separately when None); ``per_second=None`` removes the limit."""
        key = None if action is None else self.action_key(action)
        if per_second is None:
            self.controls.limits.pop(key, None)
        else:
            self.controls.limits[key] = (
                per_second,
                burst if burst is not None else max(1.0, per_second),
            )

    def reset_controls(self) -> None:
        """Forget injected failures, latency, rate limits and counters (state stays)."""
        self.controls = Controls()

    @property
    def logins(self) -> int:
        """Successful logins (tickets issued)."""
        return self.controls.logins

    @property
    def login_attempts(self) -> int:
        return self.controls.login_attempts

    @property
    def calls(self) -> Counter[str]:
        """Requests per action, keyed ``"Material/SearchMaterial"``."""
        return self.controls.calls

    # ---- conveniences for tests ---------------------------------------------------------
    def root_class_id(self, owner: OwnerKey | str = DEMO_USER_ID) -> int:
        key = ("PERSON", owner) if isinstance(owner, str) else owner
        return self.state.root(key).class_id

    def material_ids(self, user_id: str = DEMO_USER_ID) -> list[str]:
        """Ids of the materials in ``user_id``'s personal space, oldest first."""
        mats = [m for m in self.state.materials.values() if m.owner == ("PERSON", user_id)]
        return [m.material_id for m in sorted(mats, key=lambda m: (m.create_time, m.material_id))]

    def active_tickets(self, user_id: str | None = None) -> list[str]:
        return [
            t for t, s in self.state.sessions.items() if user_id is None or s.user_id == user_id
        ]
