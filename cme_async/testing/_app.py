"""The ASGI application: the login endpoint, the client API and the control endpoints.

Written by hand (no framework) so that the same callable serves the in-process
httpx transport and the uvicorn TCP server.  It depends on its world, its controls
and its credentials only; ``FakeCme`` builds it from them.

Routes:
    GET  /?signature=...                 login exchange
    POST /PaaS/<Class>/<Name>?auth=...   client API actions
    GET|POST /_emulator/...              controls for tests in other processes (_control_api)
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from .._catalogue import catalogue
from ._control_api import control
from ._controls import LOGIN, Controls
from ._credentials import CredentialRegistry
from ._faults import Fault
from ._replies import LoginShape, Reply, envelope, injected, login_error, login_ok, plain
from ._validate import validate_body
from .handlers import Ctx, Handler, dispatch_table
from .world import World
from .world.tickets import Identity, Session, TicketStatus

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Key of ``scope["state"]`` under which a server puts a callable that drops the
#: connection without an answer (set by the uvicorn protocol and by the transport).
ABORT_KEY = "cme_async.testing.abort"
log = logging.getLogger("cme_async.testing")
_NOT_JSON = object()


class _Drop(Exception):
    """Answer nothing; close the connection."""


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:  # standard JSON only, as CME's parser: NaN/Infinity are not JSON
        return json.loads(raw, parse_constant=_not_a_number)
    except (ValueError, RecursionError):  # (RecursionError: nested beyond reason)
        return _NOT_JSON


def _not_a_number(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")


def _loggable(raw: bytes, body: Any, key: str) -> Any:
    """The body as the request log keeps it: the fields the catalogue marks secret
    (signatures such as ``VerifySign``) masked."""
    if body is _NOT_JSON:
        return raw.decode("utf-8", "replace")
    spec = catalogue().actions.get(key)
    if spec is not None and isinstance(body, dict):
        hidden = {f.wire: "***" for f in spec.request if f.secret and f.wire in body}
        if hidden:
            return {**body, **hidden}
    return body


class App:
    """ASGI callable over a :class:`World`, its :class:`Controls` and the registered keys."""

    def __init__(
        self,
        world: World,
        controls: Controls,
        credentials: CredentialRegistry,
        *,
        login_shape: LoginShape = "current",
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self.world = world
        self.controls = controls
        self.credentials = credentials
        self.login_shape: LoginShape = login_shape
        self.handlers = dict(dispatch_table() if handlers is None else handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        try:
            reply = await self.dispatch(
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode("latin-1"),
                b"".join(chunks),
            )
        except _Drop:
            abort = (scope.get("state") or {}).get(ABORT_KEY)
            if abort is not None:
                abort()
                await asyncio.sleep(0)  # let the server notice the closed transport
                return
            # A server we cannot reach into: start an answer and break it off.
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            raise ConnectionAbortedError("fail_next(drop_connection=True)") from None
        await send(
            {"type": "http.response.start", "status": reply.status, "headers": reply.headers}
        )
        await send({"type": "http.response.body", "body": reply.body})

    async def dispatch(self, method: str, path: str, query: str, body: bytes) -> Reply:
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if path.startswith("/PaaS/"):
            parts = path[len("/PaaS/") :].split("/")
            if method != "POST":
                return plain(405, b"Method Not Allowed", (b"allow", b"POST"))
            if len(parts) != 2 or not all(parts):
                fault = Fault("InvalidAction", f"invalid action path: {path}")
                return envelope(fault, None, str(uuid.uuid4()))
            return await self._action(f"{parts[0]}/{parts[1]}", params.get("auth"), body)
        if path in ("/", "") and method == "GET":
            return await self._login(params.get("signature"))
        if path.startswith("/_emulator/"):
            what = path[len("/_emulator/") :]
            return control(self.world, self.controls, self.credentials, method, what, params, body)
        return plain(404, b"Not Found")

    # ---- login --------------------------------------------------------------------------
    async def _login(self, signature: str | None) -> Reply:
        ledger = self.controls.ledger
        request_id = str(uuid.uuid4())
        ledger.login_attempts += 1
        delay = self.controls.delay(LOGIN)
        if delay > 0:
            await asyncio.sleep(delay)
        world = self.world
        identity: Identity | None = None
        fault: Fault | None = None
        try:
            identity = self.credentials.verify(signature, world.clock())
        except Fault as refused:
            fault = refused
        who: Session | Identity | None = identity
        rule = self.controls.take_failure(LOGIN)
        if rule is not None and rule.kind == "drop_connection":
            ledger.record(world.clock(), LOGIN, who, None, None, None, None, request_id)
            raise _Drop
        if rule is not None:
            reply = injected(rule, request_id, self.login_shape)
        elif identity is None:
            reply = login_error(self.login_shape, fault or Fault("InternalError"), request_id)
        else:
            session = who = world.tickets.issue(*identity)
            ledger.login(session)
            reply = login_ok(
                self.login_shape,
                app_id=world.app_id,
                ticket=session.ticket,
                platform=session.platform,
                user_id=session.user_id,
                tf_uid=session.tf_uid,
                request_id=request_id,
            )
        ledger.record(world.clock(), LOGIN, who, None, None, reply.status, reply.code, request_id)
        return reply

    # ---- actions ------------------------------------------------------------------------
    async def _action(self, key: str, ticket: str | None, raw: bytes) -> Reply:
        request_id = str(uuid.uuid4())
        self.controls.ledger.calls[key] += 1
        body = _parse_body(raw)
        reply: Reply | None = None
        status: TicketStatus | None = None
        session: Session | None = None
        try:
            reply, status, session = await self._answer(key, ticket, body, request_id)
            return reply
        finally:  # unanswered requests (a dropped connection, a cancelled call) too
            if status is None:  # the app did not get as far as judging the ticket
                tickets = self.world.tickets
                status, session = tickets.status(ticket), tickets.identify(ticket)
            self.controls.ledger.record(
                self.world.clock(),
                key,
                session,
                status,
                _loggable(raw, body, key),
                None if reply is None else reply.status,
                None if reply is None else reply.code,
                request_id,
            )

    async def _answer(
        self, key: str, ticket: str | None, body: Any, request_id: str
    ) -> tuple[Reply, TicketStatus | None, Session | None]:
        """The answer, what the ticket was, and whose (None, None: not judged)."""
        controls = self.controls
        delay = controls.delay(key)
        if delay > 0:
            await asyncio.sleep(delay)
        rule = controls.take_failure(key)
        if rule is not None:
            if rule.kind == "drop_connection":
                raise _Drop
            return injected(rule, request_id, None), None, None
        if controls.rate_limited(key):
            return envelope(Fault("RequestLimitExceeded"), None, request_id), None, None
        tickets = self.world.tickets
        session, status = tickets.lookup(ticket)
        expiry = controls.random_expiry
        if session is not None and expiry is not None and expiry.hits(session):
            tickets.end(session)
            session, status = None, "expired"
        if session is None:
            refused = envelope(Fault("AuthFailure.SessionInvalid"), None, request_id)
            return refused, status, tickets.identify(ticket)
        session.uses += 1
        return self._run(key, session, body, request_id), status, session

    def _run(self, key: str, session: Session, body: Any, request_id: str) -> Reply:
        handler = self.handlers.get(key)
        spec = catalogue().actions.get(key)
        if handler is None and spec is None:
            return envelope(Fault("InvalidAction", f"invalid action: {key}"), None, request_id)
        if body is _NOT_JSON:
            return envelope(Fault("InvalidParameter", "request body is not JSON"), None, request_id)
        if not isinstance(body, dict):
            fault = Fault("InvalidParameter", "request body must be a JSON object")
            return envelope(fault, None, request_id)
        world = self.world
        state = world.space(session.platform)
        ctx = Ctx(state, session.user_id, session.platform, world.ai_page_size, spec)
        try:
            if spec is not None:
                validate_body(spec, body)
            if handler is None:
                raise Fault("InvalidAction", f"action {key} is not emulated")
            data = handler(ctx, body)
        except Fault as fault:
            return envelope(fault, None, request_id)
        except Exception as exc:  # a bug in the emulator: answer like the service would
            log.exception("FakeCme handler %s failed", key)
            self.controls.ledger.internal_errors.append(f"{key}: {exc!r}")
            return envelope(Fault("InternalError"), None, request_id)
        return envelope(None, data, request_id)
