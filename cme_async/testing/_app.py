"""The ASGI application: the login endpoint, the client API and the control endpoints.

Written by hand (no framework) so that the same callable serves the in-process
httpx transport and the uvicorn TCP server.

Routes:
    GET  /?signature=...                 login exchange
    POST /PaaS/<Class>/<Name>?auth=...   client API actions
    GET  /_emulator/counters             and POST /_emulator/{expire-tickets,fail-next,
                                         latency,rate-limit}: controls for non-Python tests
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ._faults import Fault
from ._handlers import Ctx, handlers
from ._login import verify_signature
from ._validate import catalogue, validate_body

if TYPE_CHECKING:
    from ._fake import FakeCme

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Key of ``scope["state"]`` under which a server puts a callable that drops the
#: connection without an answer (set by the uvicorn protocol and by the transport).
ABORT_KEY = "cme_async.testing.abort"
log = logging.getLogger("cme_async.testing")

_JSON = [(b"content-type", b"application/json; charset=utf-8")]
_MALFORMED = b'{"Code": "Success", "Message": "\xe6\x88\x90\xe5\x8a\x9f", "Data": {"Mat'


class _Drop(Exception):
    """Answer nothing; close the connection."""


class Reply:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.status, self.body, self.headers = status, body, headers


def _json_reply(payload: Any, request_id: str, status: int = 200) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(status, body, [*_JSON, (b"x-request-id", request_id.encode())])


class CmeApp:
    """ASGI callable over a :class:`FakeCme`."""

    def __init__(self, fake: FakeCme) -> None:
        self.fake = fake
        self._handlers = handlers()

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
            await send({"type": "http.response.start", "status": 200, "headers": _JSON})
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
                return Reply(405, b"Method Not Allowed", [(b"allow", b"POST")])
            if len(parts) != 2 or not all(parts):
                return self._envelope(
                    Fault("InvalidAction", f"invalid action path: {path}"), None, str(uuid.uuid4())
                )
            return await self._action(parts[0], parts[1], params.get("auth"), body)
        if path in ("/", "") and method == "GET":
            return await self._login(params.get("signature"))
        if path.startswith("/_emulator/"):
            return self._control(method, path[len("/_emulator/") :], body)
        return Reply(404, b"Not Found", [(b"content-type", b"text/plain")])

    # ---- shared failure injection ---------------------------------------------------
    async def _inject(self, key: str, request_id: str) -> Reply | None:
        controls = self.fake.controls
        delay = controls.delay(key)
        if delay > 0:
            await asyncio.sleep(delay)
        rule = controls.take_failure(key)
        if rule is None:
            return None
        if rule.kind == "drop_connection":
            raise _Drop
        if rule.kind == "malformed":
            return Reply(200, _MALFORMED, [*_JSON, (b"x-request-id", request_id.encode())])
        if rule.kind == "http_status":
            status = rule.http_status or 500
            headers = [(b"content-type", b"text/html"), (b"x-request-id", request_id.encode())]
            if rule.retry_after is not None:
                headers.append((b"retry-after", f"{rule.retry_after:g}".encode()))
            note = rule.message or "injected by FakeCme"
            page = f"<html><body><h1>{status}</h1>{note}</body></html>"
            return Reply(status, page.encode(), headers)
        fault = Fault(rule.code or "InternalError", rule.message)
        reply = (
            self._login_error(fault, request_id)
            if key == "Login"
            else self._envelope(fault, None, request_id)
        )
        if rule.retry_after is not None:
            reply.headers.append((b"retry-after", f"{rule.retry_after:g}".encode()))
        return reply

    # ---- login --------------------------------------------------------------------------
    async def _login(self, signature: str | None) -> Reply:
        fake = self.fake
        request_id = str(uuid.uuid4())
        fake.controls.login_attempts += 1
        injected = await self._inject("Login", request_id)
        if injected is not None:
            return injected
        try:
            user_id = verify_signature(signature, fake.credentials, fake.state.clock())
        except Fault as fault:
            return self._login_error(fault, request_id)
        session = fake.state.open_session(user_id, fake.ticket_ttl)
        fake.controls.logins += 1
        if fake.login_shape == "legacy":
            data = {
                "AppId": fake.state.app_id,
                "Platform": fake.credentials.platform,
                "UserId": user_id,
                "Authorization": session.ticket,
            }
            return _json_reply(
                {"Code": "Success", "Message": "成功", "EnglishMessage": "OK", "Data": data},
                request_id,
            )
        return _json_reply(
            {
                "Response": {
                    "AppId": fake.state.app_id,
                    "Authorization": session.ticket,
                    "Platform": fake.credentials.platform,
                    "RequestId": request_id,
                    "TfUid": session.tf_uid,
                }
            },
            request_id,
        )

    def _login_error(self, fault: Fault, request_id: str) -> Reply:
        if self.fake.login_shape == "legacy":
            return self._envelope(fault, None, request_id)
        return _json_reply(
            {
                "Response": {
                    "Error": {"Code": fault.code, "Message": fault.english},
                    "RequestId": request_id,
                }
            },
            request_id,
        )

    # ---- actions --------------------------------------------------------------------------
    def _envelope(self, fault: Fault | None, data: Any, request_id: str) -> Reply:
        if fault is not None:
            payload: dict[str, Any] = {
                "Code": fault.code,
                "Message": fault.message,
                "EnglishMessage": fault.english,
            }
        else:
            payload = {"Code": "Success", "Message": "成功", "EnglishMessage": "success"}
            if data is not None:
                payload["Data"] = data
        return _json_reply(payload, request_id)

    async def _action(self, cls: str, name: str, ticket: str | None, raw: bytes) -> Reply:
        fake = self.fake
        key = f"{cls}/{name}"
        request_id = str(uuid.uuid4())
        fake.controls.calls[key] += 1
        injected = await self._inject(key, request_id)
        if injected is not None:
            return injected
        if fake.controls.rate_limited(key):
            return self._envelope(Fault("RequestLimitExceeded"), None, request_id)
        session = fake.state.session(ticket)
        if session is None:
            return self._envelope(Fault("AuthFailure.SessionInvalid"), None, request_id)
        handler = self._handlers.get(key)
        spec = catalogue()[0].get(key)
        if handler is None and spec is None:
            return self._envelope(
                Fault("InvalidAction", f"invalid action: {key}"), None, request_id
            )
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return self._envelope(
                Fault("InvalidParameter", "request body is not JSON"), None, request_id
            )
        if not isinstance(body, dict):
            return self._envelope(
                Fault("InvalidParameter", "request body must be a JSON object"), None, request_id
            )
        ctx = Ctx(fake.state, session.user_id, fake.credentials.platform, fake.ai_page_size)
        try:
            if spec is not None:
                validate_body(spec, body)
            if handler is None:
                raise Fault("InvalidAction", f"action {key} is not emulated")
            data = handler(ctx, body)
        except Fault as fault:
            return self._envelope(fault, None, request_id)
        except Exception as exc:  # a bug in the emulator: answer like the service would
            log.exception("FakeCme handler %s failed", key)
            fake.internal_errors.append(f"{key}: {exc!r}")
            return self._envelope(Fault("InternalError"), None, request_id)
        return self._envelope(None, data, request_id)

    # ---- controls ---------------------------------------------------------------------------
    def _control(self, method: str, what: str, raw: bytes) -> Reply:
        fake = self.fake
        request_id = str(uuid.uuid4())
        if what == "counters" and method == "GET":
            return _json_reply(
                {
                    "Logins": fake.logins,
                    "LoginAttempts": fake.login_attempts,
                    "Calls": dict(fake.calls),
                },
                request_id,
            )
        if method != "POST":
            return Reply(405, b"Method Not Allowed", [(b"allow", b"POST")])
        try:
            args = json.loads(raw) if raw.strip() else {}
            if not isinstance(args, dict):
                raise ValueError("expected a JSON object")
            if what == "expire-tickets":
                result: Any = fake.expire_tickets(args.get("UserId"))
            elif what == "fail-next":
                fake.fail_next(
                    args.get("Action"),
                    code=args.get("Code"),
                    http_status=args.get("HttpStatus"),
                    malformed=bool(args.get("Malformed", False)),
                    drop_connection=bool(args.get("DropConnection", False)),
                    times=int(args.get("Times", 1)),
                    message=args.get("Message"),
                )
                result = True
            elif what == "latency":
                fake.latency(float(args.get("Seconds", 0)), action=args.get("Action"))
                result = True
            elif what == "rate-limit":
                per_second = args.get("PerSecond")
                fake.rate_limit(
                    args.get("Action"),
                    None if per_second is None else float(per_second),
                    burst=args.get("Burst"),
                )
                result = True
            else:
                return Reply(404, b"Not Found", [(b"content-type", b"text/plain")])
        except (TypeError, ValueError) as exc:
            return _json_reply({"Error": str(exc)}, request_id, 400)
        return _json_reply({"Result": result}, request_id)
